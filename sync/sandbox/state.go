package sandbox

import (
	"time"
)

// The seed company: three employees, the three standard Omnidesk statuses and
// three custom ones (one with chat access), and one Chaport operator per
// employee, linked by e-mail as the hub links them by default.

// moscow is the zone Omnidesk writes its RFC1123Z dates in.
var moscow = time.FixedZone("MSK", 3*60*60)

type staff struct {
	ID            int64
	Email         string
	FullName      string
	Signature     string
	SignatureChat string
	Active        bool
	StatusID      int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

type staffStatus struct {
	ID     int64
	Name   string
	Active bool
	// ChatAccess is what the status's settings say in the Omnidesk admin UI.
	// The real API does not expose it; the sandbox shows it on the control
	// page so a person can see what the hub's mapping should be.
	ChatAccess bool
}

type operator struct {
	ID             string
	Email          string
	Name           string
	Language       string
	JobTitle       string
	Role           string
	LastLoginAt    time.Time
	LastActivityAt time.Time
	LastStatus     string
	// LeaseUntil is when an API-written status lapses.
	LeaseUntil time.Time
	// Manual is set when a person chose the status in Chaport's own UI: it
	// holds without a lease, as with an open Chaport app.
	Manual bool
}

// realStatus is the effective status: the last status while its lease (or a
// manual choice) holds, else offline.
func (o *operator) realStatus(now time.Time) string {
	if o.Manual || now.Before(o.LeaseUntil) {
		return o.LastStatus
	}
	return "offline"
}

// Seed ids, exported so that tests and the demo can name them.
const (
	SeedStaffAnna  int64 = 201
	SeedStaffBoris int64 = 202
	SeedStaffChen  int64 = 203

	SeedOperatorAnna  = "5f1a2b3c4d5e6f7081920a01"
	SeedOperatorBoris = "5f1a2b3c4d5e6f7081920a02"
	SeedOperatorChen  = "5f1a2b3c4d5e6f7081920a03"

	StatusOnline       int64 = 1
	StatusOffline      int64 = 2
	StatusWithoutChats int64 = 3
	StatusTraining     int64 = 113808
	StatusLunch        int64 = 120273
	StatusChatDuty     int64 = 130001
)

func seedStatuses() []*staffStatus {
	return []*staffStatus{
		{ID: StatusOnline, Name: "Онлайн", Active: true, ChatAccess: true},
		{ID: StatusOffline, Name: "Офлайн", Active: true},
		{ID: StatusWithoutChats, Name: "Без чатов", Active: true},
		{ID: StatusTraining, Name: "Обучение", Active: true},
		{ID: StatusLunch, Name: "Обед", Active: true},
		{ID: StatusChatDuty, Name: "Дежурство в чатах", Active: true, ChatAccess: true},
	}
}

func seedStaff(now time.Time) []*staff {
	created := time.Date(2024, 3, 11, 9, 30, 0, 0, moscow)
	mk := func(id int64, email, name string) *staff {
		return &staff{ID: id, Email: email, FullName: name, Signature: "— " + name,
			SignatureChat: name, Active: true, StatusID: StatusOffline,
			CreatedAt: created, UpdatedAt: now.In(moscow)}
	}
	return []*staff{
		mk(SeedStaffAnna, "anna@acme.test", "Anna Petrova"),
		mk(SeedStaffBoris, "boris@acme.test", "Boris Ivanov"),
		mk(SeedStaffChen, "chen@acme.test", "Chen Li"),
	}
}

func seedOperators(now time.Time) []*operator {
	login := now.Add(-26 * time.Hour).UTC()
	mk := func(id, email, name, role string) *operator {
		return &operator{ID: id, Email: email, Name: name, Language: "en",
			JobTitle: "Support", Role: role, LastLoginAt: login, LastActivityAt: login,
			LastStatus: "offline"}
	}
	return []*operator{
		mk(SeedOperatorAnna, "anna@acme.test", "Anna Petrova", "admin"),
		mk(SeedOperatorBoris, "boris@acme.test", "Boris Ivanov", "operator"),
		mk(SeedOperatorChen, "chen@acme.test", "Chen Li", "operator"),
	}
}
