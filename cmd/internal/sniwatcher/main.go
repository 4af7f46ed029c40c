// Command sniwatcher is a small org.kde.StatusNotifierWatcher for the
// project's headless desktop session (.ci/desktop-session.sh with
// DESKTOP_TRAY=go, the default). Debian ships no standalone watcher, and a
// tray app such as fyne.io/systray registers its item with whoever owns
// org.kde.StatusNotifierWatcher on the session bus; this program is that
// owner, so the desktop tests can find the item and drive its menu over D-Bus.
//
// It implements what tray apps and the tests use:
//
//   - RegisterStatusNotifierItem(s): the argument is a bus name, or an object
//     path (fyne.io/systray sends "/StatusNotifierItem"); a path is combined
//     with the caller's unique name, giving ":1.7/StatusNotifierItem";
//   - RegisterStatusNotifierHost(s);
//   - the properties RegisteredStatusNotifierItems (as),
//     IsStatusNotifierHostRegistered (b, always true: the tests play the host)
//     and ProtocolVersion (i, 0);
//   - the signals StatusNotifierItemRegistered/Unregistered(s) and
//     StatusNotifierHostRegistered;
//   - items are dropped when their owner leaves the bus (NameOwnerChanged).
//
// It logs to stderr and exits with status 0 on SIGTERM or SIGINT.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"
)

const (
	watcherName  = "org.kde.StatusNotifierWatcher"
	watcherIface = "org.kde.StatusNotifierWatcher"
	watcherPath  = dbus.ObjectPath("/StatusNotifierWatcher")
	defaultItem  = "/StatusNotifierItem"
)

const watcherXML = `<interface name="org.kde.StatusNotifierWatcher">
  <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
  <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
  <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
  <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
  <property name="ProtocolVersion" type="i" access="read"/>
  <signal name="StatusNotifierItemRegistered"><arg name="service" type="s"/></signal>
  <signal name="StatusNotifierItemUnregistered"><arg name="service" type="s"/></signal>
  <signal name="StatusNotifierHostRegistered"/>
  <signal name="StatusNotifierHostUnregistered"/>
</interface>`

// watcher holds the registered items, each "busname/object/path", in
// registration order.
type watcher struct {
	conn  *dbus.Conn
	props *prop.Properties

	mu    sync.Mutex
	items []string
}

// itemID turns the argument of RegisterStatusNotifierItem into the
// "busname/object/path" form the watcher publishes.
func itemID(service string, sender dbus.Sender) string {
	switch {
	case strings.HasPrefix(service, "/"):
		return string(sender) + service
	case service == "":
		return string(sender) + defaultItem
	case strings.Contains(service, "/"):
		return service // already "busname/path"
	default:
		return service + defaultItem
	}
}

// RegisterStatusNotifierItem is the D-Bus method of the same name.
func (w *watcher) RegisterStatusNotifierItem(service string, sender dbus.Sender) *dbus.Error {
	id := itemID(service, sender)
	w.mu.Lock()
	if slices.Contains(w.items, id) {
		w.mu.Unlock()
		log.Printf("item %s registered again", id)
		return nil
	}
	w.items = append(w.items, id)
	snapshot := slices.Clone(w.items)
	w.mu.Unlock()

	w.props.SetMust(watcherIface, "RegisteredStatusNotifierItems", snapshot)
	if err := w.conn.Emit(watcherPath, watcherIface+".StatusNotifierItemRegistered", id); err != nil {
		log.Printf("emit StatusNotifierItemRegistered: %v", err)
	}
	log.Printf("item registered: %s (sender %s)", id, sender)
	return nil
}

// RegisterStatusNotifierHost is the D-Bus method of the same name.
func (w *watcher) RegisterStatusNotifierHost(service string, sender dbus.Sender) *dbus.Error {
	log.Printf("host registered: %s (sender %s)", service, sender)
	if err := w.conn.Emit(watcherPath, watcherIface+".StatusNotifierHostRegistered"); err != nil {
		log.Printf("emit StatusNotifierHostRegistered: %v", err)
	}
	return nil
}

// ownerGone drops every item whose bus name was name.
func (w *watcher) ownerGone(name string) {
	w.mu.Lock()
	var gone []string
	w.items = slices.DeleteFunc(w.items, func(id string) bool {
		if strings.HasPrefix(id, name+"/") {
			gone = append(gone, id)
			return true
		}
		return false
	})
	snapshot := slices.Clone(w.items)
	w.mu.Unlock()
	if len(gone) == 0 {
		return
	}
	if snapshot == nil {
		snapshot = []string{}
	}
	w.props.SetMust(watcherIface, "RegisteredStatusNotifierItems", snapshot)
	for _, id := range gone {
		if err := w.conn.Emit(watcherPath, watcherIface+".StatusNotifierItemUnregistered", id); err != nil {
			log.Printf("emit StatusNotifierItemUnregistered: %v", err)
		}
		log.Printf("item unregistered: %s (owner left the bus)", id)
	}
}

func run(ctx context.Context) error {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		// godbus would otherwise try $XDG_RUNTIME_DIR/bus or dbus-launch.
		return fmt.Errorf("DBUS_SESSION_BUS_ADDRESS is not set")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return fmt.Errorf("connecting to the session bus: %w", err)
	}
	defer conn.Close()

	w := &watcher{conn: conn}
	if err := conn.Export(w, watcherPath, watcherIface); err != nil {
		return err
	}
	w.props, err = prop.Export(conn, watcherPath, prop.Map{watcherIface: {
		"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
		"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitConst},
		"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitConst},
	}})
	if err != nil {
		return err
	}
	node := "<node>" + introspect.IntrospectDataString + prop.IntrospectDataString + watcherXML + "</node>"
	if err := conn.Export(introspect.Introspectable(node), watcherPath, "org.freedesktop.DBus.Introspectable"); err != nil {
		return err
	}

	// Subscribe before owning the name, so no departure is missed.
	if err := conn.AddMatchSignal(
		dbus.WithMatchSender("org.freedesktop.DBus"),
		dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"),
	); err != nil {
		return err
	}
	sigs := make(chan *dbus.Signal, 256)
	conn.Signal(sigs)

	reply, err := conn.RequestName(watcherName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("requesting %s: %w", watcherName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("%s is already owned by another process (%v)", watcherName, reply)
	}
	// Real hosts own org.kde.StatusNotifierHost-PID; some clients look for one.
	host := fmt.Sprintf("org.kde.StatusNotifierHost-%d", os.Getpid())
	if _, err := conn.RequestName(host, dbus.NameFlagDoNotQueue); err != nil {
		log.Printf("requesting %s: %v", host, err)
	}
	log.Printf("%s ready on %s", watcherName, os.Getenv("DBUS_SESSION_BUS_ADDRESS"))

	for {
		select {
		case <-ctx.Done():
			log.Printf("stopping: %v", context.Cause(ctx))
			_, _ = conn.ReleaseName(watcherName)
			return nil
		case s, ok := <-sigs:
			if !ok {
				return fmt.Errorf("session bus connection closed")
			}
			if s.Name != "org.freedesktop.DBus.NameOwnerChanged" || len(s.Body) != 3 {
				continue
			}
			name, _ := s.Body[0].(string)
			newOwner, _ := s.Body[2].(string)
			if name != "" && newOwner == "" {
				w.ownerGone(name)
			}
		}
	}
}

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix("sniwatcher: ")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}
