package agent

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/omnitray/omnitray/sync/feed"
)

// maxRecentChats is how many hand-overs the tray lists.
const maxRecentChats = 5

// chatQueue bounds the hand-over events waiting for ChatEvents' reader; a
// flood beyond it drops the oldest, which the notifier would only have
// folded into a "N chats handed over" summary anyway.
const chatQueue = 256

// onChat records a hand-over for the tray and passes every chat event on
// to ChatEvents' reader (the chat notices) without ever blocking the loop.
func (l *loop) onChat(ce feed.ChatEvent) {
	ce.Transcript = boundTranscript(ce.Transcript)
	if ce.Kind == feed.ChatHandover {
		l.recent.add(RecentChat{ChatID: ce.ChatID, VisitorID: ce.VisitorID, VisitorName: DisplayName(ce.VisitorName),
			BotName: botName(ce.BotName), At: ce.At, URL: l.a.ChatLink(ce)})
	}
	for {
		select {
		case l.a.chats <- ce:
			return
		default:
		}
		select { // full: drop the oldest and try again
		case <-l.a.chats:
		default:
		}
	}
}

// recentChats are the latest hand-overs, newest first, at most
// maxRecentChats, one per chat.
type recentChats []RecentChat

func (r *recentChats) add(rc RecentChat) {
	kept := recentChats{rc}
	for _, old := range *r {
		if old.ChatID != rc.ChatID && len(kept) < maxRecentChats {
			kept = append(kept, old)
		}
	}
	*r = kept
}

// Transcript bounds: the agent keeps at most this much of a bot's
// conversation per chat, whatever a hub sends.
const (
	maxTranscriptLines = 20
	maxLineRunes       = 500
)

func boundTranscript(lines []feed.ChatLine) []feed.ChatLine {
	if len(lines) > maxTranscriptLines {
		lines = lines[len(lines)-maxTranscriptLines:]
	}
	out := make([]feed.ChatLine, len(lines))
	for i, l := range lines {
		if r := []rune(l.Text); len(r) > maxLineRunes {
			l.Text = string(r[:maxLineRunes]) + "…"
		}
		out[i] = l
	}
	return out
}

// DefaultChatURL opens a chat in Chaport's web app. The real route is not
// documented; the template is a setting (--chat-url).
const DefaultChatURL = "https://app.chaport.com/#/chats/{visitor_id}"

// ChatEvents delivers the hub's chat events (hand-overs and first replies)
// while Run runs, for one reader: the chat notices (agent/notices). Events
// wait in a bounded queue that drops the oldest; nothing ever blocks the
// loop.
func (a *Agent) ChatEvents() <-chan feed.ChatEvent { return a.chats }

// ChatLink is the web address of ce's chat, from Config.ChatURL.
func (a *Agent) ChatLink(ce feed.ChatEvent) string { return ChatURL(a.cfg.ChatURL, ce) }

// ChatURL fills a URL template with a chat's ids ({visitor_id}, {chat_id}),
// escaped, so that untrusted ids cannot change the URL's shape.
func ChatURL(template string, ce feed.ChatEvent) string {
	if template == "" {
		template = DefaultChatURL
	}
	return strings.NewReplacer("{visitor_id}", url.PathEscape(ce.VisitorID),
		"{chat_id}", strconv.FormatInt(ce.ChatID, 10)).Replace(template)
}

// DisplayName bounds an untrusted name (a visitor's, a bot's) for one menu
// line or notification title; an empty one is "A visitor".
func DisplayName(s string) string {
	if s = OneLine(s, 40); s == "" {
		return "A visitor"
	}
	return s
}

// OneLine folds s's runs of white space into single spaces and cuts it to
// n runes, ending a cut text with "…".
func OneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// botName bounds a bot's name for display. Chaport's events do not always
// name the bot: an unnamed one is "the chat bot", never the visitor
// placeholder DisplayName gives.
func botName(s string) string {
	if strings.TrimSpace(s) == "" {
		return "the chat bot"
	}
	return DisplayName(s)
}
