// Package email is the email channel: it renders a notify.Message as a
// MIME message (text and HTML alternatives) and hands it to one SMTP server,
// the operator's relay or mail provider, which delivers it.
//
// # Server URL
//
// The server is configured with one URL, so that a single setting (a flag
// or an environment variable) says where, how and as whom to connect:
//
//	smtp://[user:password@]host[:port][?starttls=MODE][&auth=MECH]
//	smtps://[user:password@]host[:port][?auth=MECH]
//
// smtp:// connects in clear text and upgrades with STARTTLS; its port
// defaults to 587 (message submission). smtps:// speaks TLS from the first
// byte ("implicit TLS", RFC 8314); its port defaults to 465. The host is a
// DNS name, an IPv4 address or a bracketed IPv6 address.
//
// The user name and password are percent-decoded. Everything between the
// first ':' and the last '@' is the password, so a password holding '@',
// '/' or '?' works even when not encoded, though encoding it is safer. The
// password appears in no error and in no String form of the URL.
//
// Query parameters:
//
//   - starttls=opportunistic (the default for smtp://): upgrade when the
//     server offers STARTTLS, continue in clear text when it does not.
//   - starttls=required: fail (permanently) when the server does not offer
//     STARTTLS. Use it whenever the relay is across a network, since an
//     attacker on the path can strip the offer.
//   - starttls=never: do not upgrade, for a local relay whose certificate
//     cannot be verified.
//   - auth=plain or auth=login: the SASL mechanism to use; by default PLAIN
//     when the server offers it, else LOGIN.
//
// # TLS and credentials
//
// Certificates are always verified, against Config.TLSConfig's roots when
// set and the system's otherwise; a verification failure is permanent and
// never falls back to clear text. Once the server has offered STARTTLS, a
// failed upgrade fails the send: there is no downgrade.
//
// Credentials are never sent in clear text, except to a loopback host
// (localhost, 127.0.0.0/8, ::1), where nothing crosses a network. So with
// credentials and a non-loopback host, smtp:// behaves as
// starttls=required, and starttls=never is refused when the URL is parsed.
//
// # Failures
//
// A 5xx reply at any stage (550 unknown recipient, 535 authentication
// failed, 554 rejected) is permanent: the engine falls over to the next
// contact method at once. So is a configuration the server cannot meet (no
// STARTTLS when it is required, an untrusted certificate, no usable AUTH
// mechanism). 4xx replies, refused or reset connections and timeouts are
// retried. A message whose final reply was lost may be sent twice by the
// retry; it carries the same Message-ID both times, so that mail clients
// and the notification log can tell.
//
// # Status page subscribers
//
// The same Sender carries the status page's subscriber mail
// (notify.KindStatusConfirm and notify.KindStatusUpdate): a request to
// confirm the address (double opt-in), and each incident update, with its
// time in the page's time zone, the components it changed, a link to the
// incident and an unsubscribe link. Updates carry List-Unsubscribe and
// List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), so that mail
// clients offer one-click unsubscribe, which the status page answers.
package email
