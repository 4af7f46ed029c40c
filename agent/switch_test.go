package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/omnitray/omnitray/sync/feed"
)

var switchCatalogue = []feed.Status{
	{ID: 1, Name: "Онлайн", Active: true, ChatAccess: true},
	{ID: 2, Name: "Офлайн", Active: true},
	{ID: 3, Name: "Без чатов", Active: true},
	{ID: 120273, Name: "Обед", Active: true},
	{ID: 113808, Name: "Обучение", Active: false},
	{ID: 140001, Name: "Ёлка", Active: true},
	{ID: 140002, Name: "Дежурство", Active: true},
	{ID: 140003, Name: "ДЕЖУРСТВО", Active: true},
	{ID: 140004, Name: "2", Active: true}, // a name that looks like an id
}

func TestResolveStatus(t *testing.T) {
	for _, tc := range []struct {
		arg    string
		id     int64  // 0: an error
		reason string // part of the error
	}{
		{"Обед", 120273, ""},
		{"обед", 120273, ""},
		{"ОБЕД", 120273, ""},
		{"  оБеД \t", 120273, ""},
		{"без ЧАТОВ", 3, ""},
		{"Без   чатов", 3, ""},
		{"ёлка", 140001, ""},
		{"ЁЛКА", 140001, ""},
		{"120273", 120273, ""},
		{" 1 ", 1, ""},
		{"2", 2, ""}, // the id wins over the name "2"
		{"140004", 140004, ""},
		{"Online", 0, `no Omnidesk status is called "Online"`},
		{"обе", 0, `no Omnidesk status is called "обе"`},
		{"елка", 0, `no Omnidesk status is called "елка"`}, // е is not ё
		{"", 0, "no status given"},
		{"   ", 0, "no status given"},
		{"999", 0, `no Omnidesk status is called "999"`},
		{"-1", 0, `no Omnidesk status is called "-1"`},
		{"обучение", 0, "«Обучение» is not active in Omnidesk"},
		{"113808", 0, "«Обучение» is not active in Omnidesk"},
		{"дежурство", 0, `"дежурство" names 2 statuses (ids 140002, 140003); give the id`},
		{"140003", 140003, ""},
	} {
		t.Run(fmt.Sprintf("%q", tc.arg), func(t *testing.T) {
			got, err := ResolveStatus(switchCatalogue, tc.arg)
			if tc.id != 0 {
				if err != nil || got.ID != tc.id {
					t.Fatalf("got %+v, %v; want status %d", got, err, tc.id)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("got %+v, %v; want a StatusError with %q", got, err, tc.reason)
			}
			// Every refusal lists what can be switched to, on one line, and
			// never an inactive status.
			msg := err.Error()
			if !strings.Contains(msg, "switchable statuses: Онлайн (1), Офлайн (2), Без чатов (3), Обед (120273)") ||
				strings.Contains(msg, "Обучение (113808)") || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("message %q: want the active statuses listed on one line", msg)
			}
		})
	}
}
