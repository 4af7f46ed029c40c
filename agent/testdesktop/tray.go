package testdesktop

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Names and paths of the StatusNotifierItem protocol as fyne.io/systray uses it.
const (
	WatcherName = "org.kde.StatusNotifierWatcher"
	WatcherPath = dbus.ObjectPath("/StatusNotifierWatcher")
	ItemIface   = "org.kde.StatusNotifierItem"
	ItemPath    = dbus.ObjectPath("/StatusNotifierItem")
	MenuPath    = dbus.ObjectPath("/StatusNotifierItem/menu")
	MenuIface   = "com.canonical.dbusmenu"
)

// FindTrayItem waits up to timeout for a tray item to be registered with the
// session's StatusNotifierWatcher (our sniwatcher, or xfce4-panel) and returns
// the bus name of the first one: the unique name (":1.7") of the process that
// runs fyne.io/systray. It fails the test on timeout.
//
// The desktop tests run one package at a time (make test-desktop uses -p 1),
// so the item found is the one the test started; an item disappears from the
// list as soon as its process leaves the bus.
func FindTrayItem(t testing.TB, conn *dbus.Conn, timeout time.Duration) (busName string) {
	t.Helper()
	watcher := conn.Object(WatcherName, WatcherPath)
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		v, err := getProperty(watcher, WatcherName, "RegisteredStatusNotifierItems")
		if err == nil {
			items, _ := v.Value().([]string)
			if len(items) > 0 {
				name, _, _ := strings.Cut(items[0], "/")
				return name
			}
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("no tray item registered with %s after %v (last error: %v)", WatcherName, timeout, lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// MenuItem is one node of a dbusmenu layout, as a tray host sees it. The root
// (ID 0) has no label; its Children are the top-level menu items.
type MenuItem struct {
	ID          int32
	Label       string
	Enabled     bool   // "enabled", default true
	Visible     bool   // "visible", default true
	ToggleType  string // "checkmark", "radio" or ""
	ToggleState int32  // "toggle-state": 1 checked, 0 unchecked, -1 (default) none
	Type        string // "separator" or "" (standard)
	Children    []MenuItem
	// Props holds every property as sent, for anything not mapped above
	// (e.g. "icon-data", "children-display", "shortcut").
	Props map[string]dbus.Variant
}

// String renders the item and its children, one per line, for test logs.
func (m MenuItem) String() string {
	var b strings.Builder
	var walk func(MenuItem, int)
	walk = func(it MenuItem, depth int) {
		fmt.Fprintf(&b, "%s%d %q", strings.Repeat("  ", depth), it.ID, it.Label)
		if it.Type != "" {
			fmt.Fprintf(&b, " type=%s", it.Type)
		}
		if !it.Enabled {
			b.WriteString(" disabled")
		}
		if !it.Visible {
			b.WriteString(" hidden")
		}
		if it.ToggleType != "" {
			fmt.Fprintf(&b, " %s=%d", it.ToggleType, it.ToggleState)
		}
		b.WriteByte('\n')
		for _, c := range it.Children {
			walk(c, depth+1)
		}
	}
	walk(m, 0)
	return b.String()
}

// MenuLayout returns the whole menu tree of the tray item owned by busName
// (com.canonical.dbusmenu.GetLayout at /StatusNotifierItem/menu).
//
// fyne.io/systray v1.12.2 answers the first GetLayout after each menu reset
// with depth 1 only (P6), so MenuLayout asks again until two answers in a row
// agree and no submenu parent is missing its children (at most 3 s).
func MenuLayout(t testing.TB, conn *dbus.Conn, busName string) MenuItem {
	t.Helper()
	menu := conn.Object(busName, MenuPath)
	deadline := time.Now().Add(3 * time.Second)
	var prev *MenuItem
	var prevRev uint32
	for {
		var rev uint32
		var raw layoutNode
		if err := call(menu, MenuIface+".GetLayout", []any{int32(0), int32(-1), []string{}}, &rev, &raw); err != nil {
			t.Fatalf("GetLayout on %s%s: %v", busName, MenuPath, err)
		}
		root, err := decodeLayout(raw)
		if err != nil {
			t.Fatalf("GetLayout on %s%s: %v", busName, MenuPath, err)
		}
		if prev != nil && rev == prevRev && !truncated(root) && reflect.DeepEqual(*prev, root) {
			return root
		}
		if time.Now().After(deadline) {
			t.Logf("menu layout of %s did not settle within 3s; using revision %d", busName, rev)
			return root
		}
		prev, prevRev = &root, rev
		time.Sleep(50 * time.Millisecond)
	}
}

// layoutNode is the D-Bus shape of a dbusmenu node: (ia{sv}av).
type layoutNode struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []dbus.Variant
}

func decodeLayout(n layoutNode) (MenuItem, error) {
	it := MenuItem{ID: n.ID, Enabled: true, Visible: true, ToggleState: -1, Props: n.Props}
	if it.Props == nil {
		it.Props = map[string]dbus.Variant{}
	}
	str := func(k string) string { s, _ := it.Props[k].Value().(string); return s }
	it.Label, it.Type, it.ToggleType = str("label"), str("type"), str("toggle-type")
	if it.Type == "standard" {
		it.Type = ""
	}
	if b, ok := it.Props["enabled"].Value().(bool); ok {
		it.Enabled = b
	}
	if b, ok := it.Props["visible"].Value().(bool); ok {
		it.Visible = b
	}
	if s, ok := it.Props["toggle-state"].Value().(int32); ok {
		it.ToggleState = s
	}
	for _, cv := range n.Children {
		var child layoutNode
		if err := dbus.Store([]any{cv.Value()}, &child); err != nil {
			return it, fmt.Errorf("child of item %d: %v (value %v)", n.ID, err, cv)
		}
		c, err := decodeLayout(child)
		if err != nil {
			return it, err
		}
		it.Children = append(it.Children, c)
	}
	return it, nil
}

// truncated reports a submenu parent without children: the cut first answer.
func truncated(m MenuItem) bool {
	if s, _ := m.Props["children-display"].Value().(string); s == "submenu" && len(m.Children) == 0 {
		return true
	}
	for _, c := range m.Children {
		if truncated(c) {
			return true
		}
	}
	return false
}

// FindMenuItem searches root depth-first for the first item whose label
// starts with labelPrefix. Find items by label, not by ID: IDs follow
// creation order and separators take IDs too (P8).
func FindMenuItem(root MenuItem, labelPrefix string) (MenuItem, bool) {
	if root.ID != 0 && strings.HasPrefix(root.Label, labelPrefix) {
		return root, true
	}
	for _, c := range root.Children {
		if it, ok := FindMenuItem(c, labelPrefix); ok {
			return it, true
		}
	}
	return MenuItem{}, false
}

// ClickMenuItem sends the dbusmenu "clicked" event for item id, as a tray
// host does when the user picks it; fyne.io/systray delivers it on the item's
// ClickedCh.
func ClickMenuItem(t testing.TB, conn *dbus.Conn, busName string, id int32) {
	t.Helper()
	menu := conn.Object(busName, MenuPath)
	args := []any{id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())}
	if err := call(menu, MenuIface+".Event", args); err != nil {
		t.Fatalf("clicking menu item %d of %s: %v", id, busName, err)
	}
}

// TrayProperty reads a property of the tray item owned by busName
// (org.kde.StatusNotifierItem at /StatusNotifierItem): "Title", "ToolTip"
// ((sa(iiay)ss)), "IconPixmap" (a(iiay)), "Status", "Id", "Menu", ...
func TrayProperty(t testing.TB, conn *dbus.Conn, busName, name string) dbus.Variant {
	t.Helper()
	v, err := getProperty(conn.Object(busName, ItemPath), ItemIface, name)
	if err != nil {
		t.Fatalf("reading %s.%s of %s: %v", ItemIface, name, busName, err)
	}
	return v
}
