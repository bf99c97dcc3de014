// Package statuspage serves Klaxon's public status page: the HTML pages,
// the Statuspage-compatible JSON under /api/v2/, the Atom and RSS feeds, and
// the public half of email subscriptions (subscribe, confirm, unsubscribe).
//
// Everything a visitor can read is rendered once per change by a pure
// function of a klaxon.StatusSnapshot and the time, and served from memory:
// each document is kept with its gzip form, a strong ETag and its
// Last-Modified, behind an atomic pointer, so that serving takes no lock and
// does not touch the database. Handler.Run re-renders when the store
// signals a change (or its generation moves, for changes made on other
// nodes), every minute (for "Posted 2 hours ago"), and at the instant a
// maintenance is due to start or end or a postmortem to appear.
//
// # The banner
//
// The overall status (the banner, and "status" in the JSON) is the worst of
// two readings, components first when they tie:
//
//   - components (groups excluded; a group shows its worst member): any
//     major_outage gives indicator "critical", "Major System Outage"; any
//     partial_outage "major", "Partial System Outage"; any
//     degraded_performance "minor", "Partially Degraded Service";
//   - unresolved incidents, by impact: critical "critical", "Major System
//     Outage"; major "major", "Partial System Outage"; minor "minor",
//     "Minor Service Outage" (impact none counts for nothing).
//
// When both readings are nothing, a maintenance in progress (or a component
// under_maintenance) gives "maintenance", "Service Under Maintenance", and
// otherwise the page says "none", "All Systems Operational". An incident an
// admin graded critical therefore shows as critical even while its
// components are only degraded: the admin's grading is the more deliberate
// word.
//
// # Uptime
//
// Each component gets 90 days, in the page's time zone (a day is midnight
// to midnight there, so 23 or 25 hours across a DST change), computed from
// its state history. For each day the renderer counts the time spent in
// major_outage, partial_outage, degraded_performance and under_maintenance,
// over the part of the day the component existed and that has passed (its
// observed time). A day's uptime, and the 90 days', is
//
//	1 − (major + 0.3 × partial) / observed
//
// Degraded performance and maintenance are shown but do not lower uptime: the
// service answered. Days before the component existed (its creation, or its
// first recorded change if an import placed one earlier) are "no data".
// Every bar carries its day as text for screen readers, a different height
// and pattern per severity (not colour alone), and each component has a
// plain-text list of its outage days.
//
// # Times
//
// Absolute times are shown in the page's time zone as "Jan 23, 2018 - 14:16
// PST" (Go layout "Jan 2, 2006 - 15:04 MST") inside <time datetime="RFC
// 3339">, with a relative time computed at render ("Posted 2 hours ago"). The
// JSON gives timestamps as Statuspage does: RFC 3339 with milliseconds in the
// page's time zone ("2014-05-14T14:22:39.441-06:00"; "Z" for a UTC page).
//
// # JSON
//
// The field names, enumerations and nesting are Statuspage's public API v2.
// Ids are the decimal ids as strings; page.id is "klaxon" (one installation
// has one page). incidents.json holds the 50 most recent incidents,
// scheduled-maintenances.json the 50 most recent maintenances, and
// summary.json the unresolved incidents and the upcoming and in-progress
// maintenances.
//
// # Links, feeds and the page's address
//
// The HTML links relatively. The JSON (page.url, shortlink) and the feeds
// need absolute links: they use the page's URL setting (as its emails do),
// else Config.PublicURL, else (with neither set) the address each request
// came to, "https://" when the request came over TLS and "http://"
// otherwise. Those host-derived renderings are cached for at most four
// hosts per change; further hosts get relative links. Set the page's URL in
// production.
//
// The Atom (/history.atom) and RSS 2.0 (/history.rss) feeds hold one entry
// per incident or maintenance, the 50 most recently updated first; an
// entry's content is every update of it, newest first, as escaped HTML.
//
// # What is never shown
//
// Only what the snapshot holds for the public: no subscriber, no actor, no
// linked service. A postmortem appears only once its publication time has
// come.
//
// # Subscriptions
//
// POST /subscribe takes an email address (and, optionally, components) from
// the page's own form (cross-origin posts are refused) and always answers
// "Check your inbox", so the form cannot tell whether an address is already
// subscribed. The confirmation and unsubscribe links carry a signed token
// (Tokens); opening one shows a button, and only the POST acts, because mail
// scanners fetch every link in a message. The unsubscribe POST also accepts
// RFC 8058 one-click requests from any origin.
//
// Each subscribe request makes Klaxon email the address given, so POST
// /subscribe is rate limited (Config.SubscribeLimit): each client may send
// 5 per 10 minutes (token bucket, bursts of 5), and everyone together 60
// per minute (bursts of 60); a request its client's bucket refuses does
// not count against everyone's. A client is the connection's peer address
// (Request.RemoteAddr; for IPv6, its /64). X-Forwarded-For and the like
// are not trusted, since any client can write them: behind a reverse proxy
// all visitors share the proxy's bucket, so raise PerClient there. At
// most 10,000 clients are remembered; when the table is full, clients
// whose bucket has refilled are forgotten, or all of them when that frees
// too little. Over a limit the answer is 429 with Retry-After and a page
// saying to try again later. When the store takes no more pending
// subscriptions (EOVERLOAD) the answer is 503 with Retry-After: 3600.
//
// Logs name the route ("confirm", "unsubscribe"), never the path: the
// confirm and unsubscribe paths hold the subscriber's token.
package statuspage
