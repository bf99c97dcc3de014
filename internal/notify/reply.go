package notify

import (
	"errors"
	"strconv"
	"strings"
)

// ReplyAction is what a person asks for when they answer a page from their
// phone, by SMS ("ACK 4") or by a key pressed during a call. Every channel
// that takes answers turns them into one of these, so that the engine acts
// on one vocabulary whatever the channel.
type ReplyAction string

// The actions a reply can ask for.
const (
	ReplyAcknowledge ReplyAction = "acknowledge"
	ReplyResolve     ReplyAction = "resolve"
	ReplyEscalate    ReplyAction = "escalate"
)

// Reply is an answer to a page: an action on the alert with the short number
// the page showed (Alert.Number), which is unique for the person while the
// alert is open, so that a short SMS can name it.
type Reply struct {
	Action ReplyAction
	Number int
}

// MaxReplyNumber is the largest alert number a reply may name: six digits
// are enough for any number of open alerts, and a bound keeps a typo from
// parsing as a huge number.
const MaxReplyNumber = 999999

// replySyntax is the whole of the error a person sees when their answer is
// not understood: it says what is accepted, in a form short enough for one
// SMS.
const replySyntax = "reply not understood: answer ACK, RES or ESC followed by the alert number, such as ACK 4 to acknowledge, RES 4 to resolve or ESC 4 to escalate alert 4"

// ErrReplySyntax is the error ParseReply returns for anything it does not
// accept. Its text is written to be sent back to the person as it is.
var ErrReplySyntax = errors.New(replySyntax)

// ParseReply reads what a person typed in answer to "Reply ACK 4 to
// acknowledge, RES 4 to resolve": a word (ACK, ACKNOWLEDGE, RES, RESOLVE,
// ESC, ESCALATE, in any case), optional spaces and an optional '#', then the
// alert number, 1 to 999999. "ACK 4", "ack4" and " Ack  #4 " are all
// accepted. Anything else, including extra words, is refused with
// ErrReplySyntax rather than guessed at: acting on the wrong alert is worse
// than asking again.
func ParseReply(text string) (Reply, error) {
	s := strings.TrimSpace(text) // Unicode spaces: phones insert no-break ones
	// The word: ASCII letters only, folded by hand, so that no Unicode case
	// rule turns some other letter into one of ours.
	n := 0
	for n < len(s) && isASCIILetter(s[n]) {
		n++
	}
	if n > len("acknowledge") {
		return Reply{}, ErrReplySyntax
	}
	word := make([]byte, n)
	for i := range n {
		word[i] = s[i] | 0x20
	}
	var r Reply
	switch string(word) {
	case "ack", "acknowledge":
		r.Action = ReplyAcknowledge
	case "res", "resolve":
		r.Action = ReplyResolve
	case "esc", "escalate":
		r.Action = ReplyEscalate
	default:
		return Reply{}, ErrReplySyntax
	}
	s = strings.TrimSpace(s[n:])
	if len(s) > 0 && s[0] == '#' {
		s = strings.TrimSpace(s[1:])
	}
	if len(s) == 0 || len(s) > len(strconv.Itoa(MaxReplyNumber)) {
		return Reply{}, ErrReplySyntax
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return Reply{}, ErrReplySyntax
		}
	}
	num, err := strconv.Atoi(s)
	if err != nil || num < 1 || num > MaxReplyNumber {
		return Reply{}, ErrReplySyntax
	}
	r.Number = num
	return r, nil
}

// String is the canonical form of a reply, the one the SMS instructions
// teach ("ACK 4"); ParseReply reads it back to the same Reply.
func (r Reply) String() string {
	var w string
	switch r.Action {
	case ReplyAcknowledge:
		w = "ACK"
	case ReplyResolve:
		w = "RES"
	case ReplyEscalate:
		w = "ESC"
	default:
		w = strconv.Quote(string(r.Action))
	}
	return w + " " + strconv.Itoa(r.Number)
}

func isASCIILetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
