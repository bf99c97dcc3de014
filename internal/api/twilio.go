package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/twilio"
)

// Twilio's callbacks: delivery reports, SMS replies ("ACK 4") and keys
// pressed during page calls. They carry no API token; each is signed by
// Twilio with the account's auth token (X-Twilio-Signature over the public
// URL and the form), and anything unsigned or signed wrongly is refused
// with 403 before any of it is read. Without a configured auth token the
// routes answer 404.

// The paths of Twilio's callbacks, under the public URL. The status and
// voice URLs go with every message and call Klaxon creates; the SMS URL is
// set on the number in Twilio's console, as its "A message comes in"
// webhook.
const (
	TwilioStatusPath = "/providers/twilio/status"
	TwilioSMSPath    = "/providers/twilio/sms"
	TwilioVoicePath  = "/providers/twilio/voice"
)

// Who answers by SMS or by key is recorded on the alert's log this way.
const (
	howSMSReply = "by SMS reply"
	howKeyPress = "by a key pressed on a call"
)

// twilioForm checks that r is a callback signed by Twilio and returns its
// parameters. On failure it has answered: 404 when no Twilio account is
// configured, 403 for a missing or wrong signature, 413 for a body over 64
// KiB, 400 for anything else that is not a Twilio callback.
func (s *Server) twilioForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if s.twilioToken == "" {
		s.writeError(w, r, klaxon.Errorf(klaxon.ENOTFOUND, "no Twilio account is configured"))
		return nil, false
	}
	form, err := twilio.VerifyRequest(s.twilioToken, s.callbackBase(r), r)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, twilio.ErrSignature):
			s.log.Warn("twilio callback refused", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
			s.writeError(w, r, klaxon.Errorf(klaxon.EFORBIDDEN, "the request is not signed by Twilio for this account"))
		case errors.As(err, &tooBig):
			s.writeError(w, r, klaxon.Errorf(klaxon.ETOOLARGE, "a Twilio callback is at most %d bytes", tooBig.Limit))
		default:
			s.writeError(w, r, klaxon.Errorf(klaxon.EINVALID, "%v", err))
		}
		return nil, false
	}
	return form, true
}

// callbackBase is the public URL under which Twilio reaches this server:
// the URL Twilio signed is rebuilt from it, because behind a proxy the
// request's own scheme and host are not the ones Twilio used.
func (s *Server) callbackBase(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// twilioStatus records what Twilio reports about a message or a call that
// Klaxon created: delivered (the phone has the text, the call was
// answered) or failed. Reports of progress (queued, ringing) change
// nothing. Reports about unknown SIDs are ignored: Twilio repeats them.
func (s *Server) twilioStatus(w http.ResponseWriter, r *http.Request) {
	form, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	st, err := twilio.ParseStatusCallback(form)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch st.Outcome() {
	case twilio.Delivered:
		_, err = s.store.RecordDelivery(r.Context(), st.SID, true, "")
	case twilio.Failed:
		reason := "Twilio reported " + st.Status
		if st.ErrorCode != "" {
			reason += " (error " + st.ErrorCode + ")"
		}
		_, err = s.store.RecordDelivery(r.Context(), st.SID, false, reason)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// twilioSMS answers a text sent to the Klaxon number. A reply such as "ACK
// 4" from a person's verified SMS number acts on the alert their pages
// numbered 4, as that person; the answer is a text that says what was done
// or why nothing was. Every answer is 200 with TwiML, so that the person
// always hears back.
func (s *Server) twilioSMS(w http.ResponseWriter, r *http.Request) {
	form, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	in, err := twilio.ParseInboundSMS(form)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeTwiML(w, twilio.MessageTwiML(s.smsReply(r.Context(), in)))
}

// smsReply acts on an incoming text and returns the text to answer it with.
func (s *Server) smsReply(ctx context.Context, in twilio.Inbound) string {
	const tryAgain = "Klaxon could not record your answer just now; please try again."
	users, err := s.store.UsersByVerifiedPhone(ctx, in.From)
	if err != nil {
		s.log.Error("sms reply: look up sender", "err", err)
		return tryAgain
	}
	switch {
	case len(users) == 0:
		return "Klaxon does not know this number: answers are taken only from a verified SMS contact method. Nothing was changed."
	case len(users) > 1:
		return "This number is the SMS contact method of more than one person in Klaxon, so Klaxon cannot tell who is answering. Nothing was changed; answer with the link in the page instead."
	}
	userID := users[0]
	reply, err := notify.ParseReply(in.Body)
	if err != nil {
		return err.Error()
	}
	a, err := s.store.AlertByNumber(ctx, userID, reply.Number)
	if klaxon.ErrorCodeOf(err) == klaxon.ENOTFOUND {
		return fmt.Sprintf("Klaxon has sent you no alert numbered %d: answer with the number the page showed. Nothing was changed.", reply.Number)
	}
	if err != nil {
		s.log.Error("sms reply: alert by number", "user", userID, "err", err)
		return tryAgain
	}
	// Twilio retries a webhook it got no answer to: the message's SID makes
	// the answer act once however often it arrives.
	done, err := s.respond(ctx, a, userID, reply.Action, howSMSReply, "twilio sms "+in.SID)
	if err != nil {
		return tryAgain
	}
	return fmt.Sprintf("Alert %d %s: %s", reply.Number, done, klaxon.Truncate(a.Summary, 120))
}

// respond applies one person's answer to an alert and says what became of
// it in a few words ("acknowledged", "is acknowledged already", "is
// resolved; nothing changed"). once names the answer (a message or a call
// and alert): it acts once, however often the provider delivers it. Only a
// failure of the store is an error; it is logged.
func (s *Server) respond(ctx context.Context, a klaxon.Alert, userID int64, action notify.ReplyAction, how, once string) (string, error) {
	onceHash := sha256.Sum256([]byte(once))
	resp := klaxon.Response{AlertID: a.ID, Actor: "user:" + strconv.FormatInt(userID, 10), How: how, OnceKey: onceHash[:]}
	var done string
	switch action {
	case notify.ReplyAcknowledge:
		resp.To, done = klaxon.AlertAcknowledged, "acknowledged"
	case notify.ReplyResolve:
		resp.To, done = klaxon.AlertResolved, "resolved"
	default:
		resp.Escalate, done = true, "escalated to the next step"
	}
	if !resp.Escalate && a.Status == resp.To {
		return "is " + done + " already", nil
	}
	now, err := s.store.Respond(ctx, resp)
	if errors.Is(err, klaxon.ErrResponseSpent) {
		return "was answered already; nothing changed", nil // the provider delivered the answer twice
	}
	switch klaxon.ErrorCodeOf(err) {
	case "":
		return done, nil
	case klaxon.ECONFLICT, klaxon.ENOTFOUND:
		if cur, err := s.store.Alert(ctx, a.ID); err == nil {
			now = cur
		} else {
			now = a
		}
		if resp.Escalate {
			return fmt.Sprintf("is %s, and only a triggered alert can be escalated; nothing changed", now.Status), nil
		}
		return fmt.Sprintf("is %s; nothing changed", now.Status), nil
	}
	s.log.Error("respond", "alert", a.ID, "user", userID, "how", how, "err", err)
	return "", err
}

// twilioVoice takes the key a person pressed during a page call: 4
// acknowledges, 6 resolves, 8 escalates every alert the call read (the
// notification named by the "n" parameter, and the ones its message
// carried), as the person called. Another key asks again. The answer is a
// script that says what was done.
func (s *Server) twilioVoice(w http.ResponseWriter, r *http.Request) {
	form, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	g, err := twilio.ParseGather(form)
	if e, isField := klaxon.AsError(err); isField && e.Field == "Digits" {
		// The action URL Twilio posts the next key to is this one, which
		// it signed as it is.
		writeTwiML(w, twilio.GatherTwiML("Sorry, that key does nothing.", strings.TrimRight(s.callbackBase(r), "/")+r.URL.RequestURI()))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeTwiML(w, twilio.SayTwiML(s.voiceAnswer(r.Context(), g)+" Goodbye."))
}

// voiceAnswer acts on a key pressed and returns what to say.
func (s *Server) voiceAnswer(ctx context.Context, g twilio.Gather) string {
	const tryAgain = "Klaxon could not record your answer; please try again, or answer by text or in Klaxon."
	ns, err := s.store.NotificationsSentWith(ctx, g.Key)
	if klaxon.ErrorCodeOf(err) == klaxon.ENOTFOUND {
		return "Klaxon cannot find the page this call was about. Nothing was changed."
	}
	if err != nil {
		s.log.Error("voice answer: notification", "err", err)
		return tryAgain
	}
	var call klaxon.Notification
	for _, n := range ns {
		if n.IdempotencyKey == g.Key {
			call = n
		}
	}
	if call.Kind != klaxon.NotificationAlert || (call.ProviderID != "" && call.ProviderID != g.CallSID) {
		return "This call takes no answer. Nothing was changed."
	}
	var alerts []int64
	for _, n := range ns {
		if n.Kind == klaxon.NotificationAlert && n.UserID == call.UserID && n.AlertID != 0 && !slices.Contains(alerts, n.AlertID) {
			alerts = append(alerts, n.AlertID)
		}
	}
	if len(alerts) == 0 {
		return "This call takes no answer. Nothing was changed."
	}
	var outcomes []string
	for _, id := range alerts {
		a, err := s.store.Alert(ctx, id)
		if err != nil {
			outcomes = append(outcomes, "is gone; nothing changed")
			continue
		}
		done, err := s.respond(ctx, a, call.UserID, g.Action, howKeyPress, fmt.Sprintf("twilio call %s alert %d %s", g.CallSID, a.ID, g.Action))
		if err != nil {
			return tryAgain
		}
		outcomes = append(outcomes, done)
	}
	if len(outcomes) == 1 {
		name := "The alert"
		if n, ok, err := s.store.AlertNumber(ctx, call.UserID, alerts[0]); err == nil && ok {
			name = "Alert " + strconv.Itoa(n)
		}
		return name + " " + outcomes[0] + "."
	}
	var b strings.Builder
	counts := map[string]int{}
	var order []string
	for _, o := range outcomes {
		if counts[o] == 0 {
			order = append(order, o)
		}
		counts[o]++
	}
	for _, o := range order {
		if counts[o] == 1 {
			fmt.Fprintf(&b, "One alert %s. ", o)
		} else {
			fmt.Fprintf(&b, "%d alerts %s. ", counts[o], strings.Replace(o, "is ", "are ", 1))
		}
	}
	return strings.TrimSpace(b.String())
}

// writeTwiML answers Twilio with a script.
func writeTwiML(w http.ResponseWriter, doc []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(http.StatusOK)
	w.Write(doc)
}
