package chaport

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// The JSON below is the documented shape (docs/vendor-contract.md),
// byte for byte as a server would send it.

const operatorJSON = `{ "id": "59747c3ff77948220136b7b3", "email": "jon@example.com", "name": "Jon Snow",
  "language": "en", "jobTitle": "The Wall supervisor", "role": "operator",
  "lastLoginAt": "2017-10-03T10:47:31.873Z", "lastActivityAt": "2017-10-03T10:47:31.873Z",
  "image": "string", "lastStatus": "online", "realStatus": "online" }`

var jon = Operator{
	ID: "59747c3ff77948220136b7b3", Email: "jon@example.com", Name: "Jon Snow",
	Language: "en", JobTitle: "The Wall supervisor", Role: "operator",
	LastLoginAt:    time.Date(2017, 10, 3, 10, 47, 31, 873e6, time.UTC),
	LastActivityAt: time.Date(2017, 10, 3, 10, 47, 31, 873e6, time.UTC),
	Image:          "string", LastStatus: Online, RealStatus: Online,
}

func TestMe(t *testing.T) {
	c, rc := replay(t, 200, `{"result": {"id": "acc1", "name": "Winterfell Inc"}}`, Config{})
	raw, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"id": "acc1", "name": "Winterfell Inc"}` {
		t.Errorf("Me = %s", raw)
	}
	checkSent(t, rc.only(t), "GET", "/api/v1/me.json")
}

func TestListOperators(t *testing.T) {
	c, rc := replay(t, 200, `{"result": [`+operatorJSON+`]}`, Config{})
	ops, err := c.ListOperators(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ops, []Operator{jon}) {
		t.Errorf("ListOperators =\n%+v\nwant\n%+v", ops, []Operator{jon})
	}
	checkSent(t, rc.only(t), "GET", "/api/v1/operators")
}

func TestGetOperator(t *testing.T) {
	c, rc := replay(t, 200, `{"result": `+operatorJSON+`}`, Config{})
	op, err := c.GetOperator(context.Background(), jon.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(op, jon) {
		t.Errorf("GetOperator = %+v", op)
	}
	checkSent(t, rc.only(t), "GET", "/api/v1/operators/59747c3ff77948220136b7b3")
}

// The base URL may be given with or without the API prefix; it is never doubled.
func TestBaseURLForms(t *testing.T) {
	c, rc := replay(t, 200, `{"result": []}`, Config{})
	base := c.api.Base.Scheme + "://" + c.api.Base.Host
	for _, tc := range []struct{ base, want string }{
		{base, "/api/v1/operators"},
		{base + "/", "/api/v1/operators"},
		{base + "/api/v1", "/api/v1/operators"},
		{base + "/api/v1/", "/api/v1/operators"},
		{base + "/proxy", "/proxy/api/v1/operators"},
	} {
		cl := newTestClient(t, "", Config{BaseURL: tc.base})
		if _, err := cl.ListOperators(context.Background()); err != nil {
			t.Fatalf("%s: %v", tc.base, err)
		}
		reqs := rc.all()
		if got := reqs[len(reqs)-1].Path; got != tc.want {
			t.Errorf("base %q: path %q, want %q", tc.base, got, tc.want)
		}
	}
}

func TestSetOperatorStatus(t *testing.T) {
	// 13:47:31.873456789 at UTC+3 is 10:47:31.873 UTC once cut to milliseconds.
	until := time.Date(2017, 10, 3, 13, 47, 31, 873456789, time.FixedZone("MSK", 3*3600))
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		cfg   Config
		reply string
		call  func(*Client) (Operator, error)
		body  string
		want  Operator
	}{
		{"ttl", Config{}, `{"result": ` + operatorJSON + `}`,
			func(c *Client) (Operator, error) { return c.SetOperatorStatus(ctx, jon.ID, Online, 120*time.Second) },
			`{"status":"online","ttl":120}`, jon},
		{"ttl rounds up", Config{}, `{"result": ` + operatorJSON + `}`,
			func(c *Client) (Operator, error) {
				return c.SetOperatorStatus(ctx, jon.ID, Invisible, 119*time.Second+time.Millisecond)
			},
			`{"status":"invisible","ttl":120}`, jon},
		{"one second", Config{}, `{"result": ` + operatorJSON + `}`,
			func(c *Client) (Operator, error) { return c.SetOperatorStatus(ctx, jon.ID, Offline, time.Second) },
			`{"status":"offline","ttl":1}`, jon},
		{"until", Config{}, `{"result": ` + operatorJSON + `}`,
			func(c *Client) (Operator, error) { return c.SetOperatorStatusUntil(ctx, jon.ID, Online, until) },
			`{"status":"online","validUntil":"2017-10-03T10:47:31.873Z"}`, jon},
		{"until whole second", Config{}, `{"result": ` + operatorJSON + `}`,
			func(c *Client) (Operator, error) {
				return c.SetOperatorStatusUntil(ctx, jon.ID, Offline, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			},
			`{"status":"offline","validUntil":"2030-01-02T03:04:05.000Z"}`, jon},
		{"custom ttl fields", Config{StatusField: "state", TTLField: "lifetime"}, `{"result": ` + operatorJSON + `}`,
			func(c *Client) (Operator, error) { return c.SetOperatorStatus(ctx, jon.ID, Online, 2*time.Minute) },
			`{"lifetime":120,"state":"online"}`, jon},
		{"custom until field", Config{UntilField: "expiresAt"}, `{"result": ` + operatorJSON + `}`,
			func(c *Client) (Operator, error) { return c.SetOperatorStatusUntil(ctx, jon.ID, Online, until) },
			`{"expiresAt":"2017-10-03T10:47:31.873Z","status":"online"}`, jon},
		{"unconfirmed status passes through", Config{}, `{"result": ` + operatorJSON + `}`,
			func(c *Client) (Operator, error) { return c.SetOperatorStatus(ctx, jon.ID, "away", time.Minute) },
			`{"status":"away","ttl":60}`, jon},
		{"non-object reply", Config{}, `{"result": true}`,
			func(c *Client) (Operator, error) { return c.SetOperatorStatus(ctx, jon.ID, Online, time.Minute) },
			`{"status":"online","ttl":60}`, Operator{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rc := replay(t, 200, tc.reply, tc.cfg)
			op, err := tc.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(op, tc.want) {
				t.Errorf("operator = %+v, want %+v", op, tc.want)
			}
			got := rc.only(t)
			checkSent(t, got, "POST", "/api/v1/operators/59747c3ff77948220136b7b3/status")
			if got.Body != tc.body {
				t.Errorf("body = %s, want %s", got.Body, tc.body)
			}
			if got.ContentType != "application/json" {
				t.Errorf("Content-Type = %q", got.ContentType)
			}
		})
	}
}

func TestListVisitors(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		want        VisitorPage
	}{
		{"more pages", `{"result": [{"id": "5a1b2c3d4e5f60718293a4b5", "name": "Arya Stark", "email": "arya@example.com", "phone": "+44 20 7946 0000", "notes": "", "utm": {"source": "ads"}, "custom": {"plan": "pro"}}, {"id": "5a1b2c3d4e5f60718293a4b6", "name": null}], "links": {"next": "https://app.chaport.com/api/v1/visitors?page=3"}}`,
			VisitorPage{Visitors: []Visitor{
				{ID: "5a1b2c3d4e5f60718293a4b5", Name: "Arya Stark", Email: "arya@example.com", Phone: "+44 20 7946 0000"},
				{ID: "5a1b2c3d4e5f60718293a4b6"},
			}, Next: "https://app.chaport.com/api/v1/visitors?page=3"}},
		{"last page", `{"result": [], "links": {}}`, VisitorPage{Visitors: []Visitor{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rc := replay(t, 200, tc.reply, Config{})
			page, err := c.ListVisitors(context.Background(), 2)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(page, tc.want) {
				t.Errorf("page = %+v, want %+v", page, tc.want)
			}
			got := rc.only(t)
			checkSent(t, got, "GET", "/api/v1/visitors")
			if got.RawQuery != "page=2" {
				t.Errorf("query = %q, want page=2", got.RawQuery)
			}
		})
	}
}

func TestGetVisitor(t *testing.T) {
	c, rc := replay(t, 200, `{"result": {"id": "5a1b2c3d4e5f60718293a4b5", "name": "Arya Stark", "email": "arya@example.com", "phone": "+44 20 7946 0000", "browser": {"name": "Firefox"}}}`, Config{})
	v, err := c.GetVisitor(context.Background(), "5a1b2c3d4e5f60718293a4b5")
	if err != nil {
		t.Fatal(err)
	}
	want := Visitor{ID: "5a1b2c3d4e5f60718293a4b5", Name: "Arya Stark", Email: "arya@example.com", Phone: "+44 20 7946 0000"}
	if v != want {
		t.Errorf("visitor = %+v", v)
	}
	checkSent(t, rc.only(t), "GET", "/api/v1/visitors/5a1b2c3d4e5f60718293a4b5")
}

// An id is one path segment escaped exactly once on the wire.
func TestIDEscapedOnce(t *testing.T) {
	c, rc := replay(t, 200, `{"result": {"id": "x"}}`, Config{})
	if _, err := c.GetVisitor(context.Background(), "a b?c%2Fd#e"); err != nil {
		t.Fatal(err)
	}
	got := rc.only(t)
	if got.EscapedPath != "/api/v1/visitors/a%20b%3Fc%252Fd%23e" || got.Path != "/api/v1/visitors/a b?c%2Fd#e" || got.RawQuery != "" {
		t.Errorf("sent path %q (decoded %q, query %q)", got.EscapedPath, got.Path, got.RawQuery)
	}
}
