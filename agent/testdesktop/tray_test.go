package testdesktop_test

import (
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
	"github.com/omnitray/omnitray/agent/testdesktop"
)

// fakeMenu serves com.canonical.dbusmenu like fyne.io/systray v1.12.2: the
// first GetLayout is cut to depth 1 (P6).
type fakeMenu struct {
	mu      sync.Mutex
	calls   int
	clicked chan int32
}

type node struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []dbus.Variant
}

func item(id int32, props map[string]any, children ...node) node {
	n := node{ID: id, Props: map[string]dbus.Variant{}}
	for k, v := range props {
		n.Props[k] = dbus.MakeVariant(v)
	}
	for _, c := range children {
		n.Children = append(n.Children, dbus.MakeVariant(c))
	}
	return n
}

func (m *fakeMenu) GetLayout(parent, depth int32, names []string) (uint32, node, *dbus.Error) {
	m.mu.Lock()
	m.calls++
	first := m.calls == 1
	m.mu.Unlock()
	var advanced node
	if first {
		advanced = item(4, map[string]any{"label": "Advanced", "children-display": "submenu"})
	} else {
		advanced = item(4, map[string]any{"label": "Advanced", "children-display": "submenu"},
			item(5, map[string]any{"label": "Reindex"}),
			item(6, map[string]any{"label": "Verbose logs", "toggle-type": "checkmark", "toggle-state": int32(1)}))
	}
	return 1, item(0, map[string]any{"children-display": "submenu"},
		item(1, map[string]any{"label": "Status: connected", "enabled": false}),
		item(2, map[string]any{"label": "Pause syncing", "toggle-type": "checkmark", "toggle-state": int32(0)}),
		item(3, map[string]any{"type": "separator"}),
		advanced), nil
}

func (m *fakeMenu) Event(id int32, event string, data dbus.Variant, ts uint32) *dbus.Error {
	if event == "clicked" {
		m.clicked <- id
	}
	return nil
}

func registeredItems(t *testing.T, conn *dbus.Conn) []string {
	t.Helper()
	v, err := conn.Object(testdesktop.WatcherName, testdesktop.WatcherPath).
		GetProperty(testdesktop.WatcherName + ".RegisteredStatusNotifierItems")
	if err != nil {
		t.Fatal(err)
	}
	items, _ := v.Value().([]string)
	return items
}

// TestDesktopTrayHelpers drives the session's watcher and the tray helpers
// with a fake item registered the way fyne.io/systray does it.
func TestDesktopTrayHelpers(t *testing.T) {
	testdesktop.Need(t)
	if tray := os.Getenv("DESKTOP_TRAY"); tray != "" && tray != "go" {
		t.Skipf("checks cmd/internal/sniwatcher; the session runs DESKTOP_TRAY=%s", tray)
	}
	conn := testdesktop.SessionBus(t)
	app, err := dbus.Connect(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	menu := &fakeMenu{clicked: make(chan int32, 1)}
	if err := app.Export(menu, testdesktop.MenuPath, testdesktop.MenuIface); err != nil {
		t.Fatal(err)
	}
	if _, err := prop.Export(app, testdesktop.ItemPath, prop.Map{testdesktop.ItemIface: {
		"Title":  {Value: "Omnitray", Emit: prop.EmitTrue},
		"Status": {Value: "Active", Emit: prop.EmitTrue},
		"Menu":   {Value: testdesktop.MenuPath, Emit: prop.EmitConst},
	}}); err != nil {
		t.Fatal(err)
	}
	sigs := subscribe(t, conn, dbus.WithMatchSender(testdesktop.WatcherName))
	watcher := app.Object(testdesktop.WatcherName, testdesktop.WatcherPath)
	if err := watcher.Call(testdesktop.WatcherName+".RegisterStatusNotifierItem", 0, "/StatusNotifierItem").Err; err != nil {
		t.Fatal(err)
	}
	want := app.Names()[0] + "/StatusNotifierItem"
	if s := nextSignal(t, sigs, testdesktop.WatcherName+".StatusNotifierItemRegistered"); s.Body[0] != want {
		t.Errorf("StatusNotifierItemRegistered(%v), want %s", s.Body, want)
	}
	if v, err := watcher.GetProperty(testdesktop.WatcherName + ".IsStatusNotifierHostRegistered"); err != nil || v.Value() != true {
		t.Errorf("IsStatusNotifierHostRegistered = %v, %v", v, err)
	}

	bus := testdesktop.FindTrayItem(t, conn, 2*time.Second)
	if bus != app.Names()[0] {
		t.Fatalf("FindTrayItem = %s, want %s", bus, app.Names()[0])
	}
	if v := testdesktop.TrayProperty(t, conn, bus, "Title"); v.Value() != "Omnitray" {
		t.Errorf("Title = %v", v)
	}
	root := testdesktop.MenuLayout(t, conn, bus)
	t.Logf("menu:\n%s", root)
	verbose, ok := testdesktop.FindMenuItem(root, "Verbose")
	if !ok || verbose.ID != 6 || verbose.ToggleType != "checkmark" || verbose.ToggleState != 1 || !verbose.Enabled {
		t.Errorf("FindMenuItem(Verbose) = %+v, %v", verbose, ok)
	}
	if status, _ := testdesktop.FindMenuItem(root, "Status:"); status.Enabled || status.ToggleState != -1 {
		t.Errorf("status item %+v", status)
	}
	if _, ok := testdesktop.FindMenuItem(root, "Quit"); ok {
		t.Error("found a Quit item that does not exist")
	}
	testdesktop.ClickMenuItem(t, conn, bus, verbose.ID)
	select {
	case id := <-menu.clicked:
		if id != 6 {
			t.Errorf("clicked %d", id)
		}
	case <-time.After(5 * time.Second):
		t.Error("no click event")
	}

	// The watcher drops the item when its process leaves the bus.
	app.Close()
	if s := nextSignal(t, sigs, testdesktop.WatcherName+".StatusNotifierItemUnregistered"); s.Body[0] != want {
		t.Errorf("StatusNotifierItemUnregistered(%v)", s.Body)
	}
	if items := registeredItems(t, conn); slices.Contains(items, want) {
		t.Errorf("items after the app left: %q", items)
	}
}
