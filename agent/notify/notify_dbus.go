//go:build (linux && !android) || freebsd || netbsd || openbsd || dragonfly

package notify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/godbus/dbus/v5"
)

const (
	fdnName  = "org.freedesktop.Notifications"
	fdnPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	fdnIface = "org.freedesktop.Notifications"
)

// dbusNotifier talks org.freedesktop.Notifications on its own connection.
//
// It uses esiqveland/notify's message and signal types but makes the calls
// itself: the library's calls take no context (a hung server would block
// the agent), and its signal loop type-asserts signal bodies unchecked (any
// peer may emit a malformed signal) and logs every foreign signal.
type dbusNotifier struct {
	conn      *dbus.Conn
	obj       dbus.BusObject
	opts      Options
	log       *slog.Logger
	markup    bool // server renders body markup: escape the body
	withActs  bool // server shows action buttons
	sigs      chan *dbus.Signal
	events    chan ActionEvent
	loopDone  chan struct{}
	closeOnce sync.Once
	// sendSem serialises Notify and Dismiss: two concurrent sends for one
	// topic would otherwise both see "nothing shown" and stack two
	// bubbles. A channel rather than a mutex so waiting respects ctx.
	sendSem chan struct{}

	mu      sync.Mutex
	byTopic map[string]uint32 // topic → id currently shown, for replaces_id
	byID    map[uint32]string // our ids → topic; signals for other ids are not ours
}

// New connects to the notification server on the session bus. It returns
// an error wrapping ErrNoServer when nothing provides
// org.freedesktop.Notifications.
func New(opts Options) (Notifier, error) {
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, err := connectPrivate(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: connect to the session bus: %w", err)
	}
	d, err := start(ctx, conn, opts)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify: %w", err)
	}
	return d, nil
}

// connectPrivate opens a private session-bus connection. The shared
// dbus.SessionBus() belongs to fyne.io/systray: our match rules and signals
// on it would disturb the tray (systray#131), and closing it would kill the
// tray. NoAutoStartup: without a bus, godbus would otherwise exec
// dbus-launch and start a stray bus.
func connectPrivate(ctx context.Context) (*dbus.Conn, error) {
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		return nil, err
	}
	// Auth and Hello take no context; closing the connection is what
	// unblocks them if the bus does not answer.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("say hello: %w", err)
	}
	return conn, nil
}

func start(ctx context.Context, conn *dbus.Conn, opts Options) (*dbusNotifier, error) {
	if err := findServer(ctx, conn); err != nil {
		return nil, err
	}
	var caps []string
	obj := conn.Object(fdnName, fdnPath)
	if err := obj.CallWithContext(ctx, fdnIface+".GetCapabilities", 0).Store(&caps); err != nil {
		return nil, fmt.Errorf("get server capabilities: %w", err)
	}
	// Match on the well-known name: the bus then only passes signals from
	// the server that currently owns it, not ones other peers emit.
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(fdnName),
		dbus.WithMatchObjectPath(fdnPath), dbus.WithMatchInterface(fdnIface)); err != nil {
		return nil, fmt.Errorf("subscribe to notification signals: %w", err)
	}
	d := newDBusNotifier(opts, caps)
	d.conn, d.obj = conn, obj
	conn.Signal(d.sigs)
	go d.loop()
	d.log.Debug("notifications ready", "caps", caps)
	return d, nil
}

// newDBusNotifier builds the state without a connection, so the signal
// handling can be unit-tested.
func newDBusNotifier(opts Options, caps []string) *dbusNotifier {
	return &dbusNotifier{
		opts:     opts,
		log:      opts.Logger,
		markup:   slices.Contains(caps, "body-markup"),
		withActs: slices.Contains(caps, "actions"),
		sigs:     make(chan *dbus.Signal, 32),
		events:   make(chan ActionEvent, actionsBuffer),
		loopDone: make(chan struct{}),
		sendSem:  make(chan struct{}, 1),
		byTopic:  map[string]uint32{},
		byID:     map[uint32]string{},
	}
}

// findServer fails with ErrNoServer unless the name is owned now or the bus
// can activate it (desktops such as MATE and XFCE start their server on
// demand, so NameHasOwner alone would be a false negative).
func findServer(ctx context.Context, conn *dbus.Conn) error {
	bus := conn.BusObject()
	var owned bool
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, fdnName).Store(&owned); err != nil {
		return fmt.Errorf("look up %s: %w", fdnName, err)
	}
	if owned {
		return nil
	}
	var activatable []string
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&activatable); err != nil {
		return fmt.Errorf("list activatable names: %w", err)
	}
	if !slices.Contains(activatable, fdnName) {
		return fmt.Errorf("find %s on the session bus: %w", fdnName, ErrNoServer)
	}
	return nil
}

// acquire takes sendSem, giving up when ctx ends.
func (d *dbusNotifier) acquire(ctx context.Context) error {
	select {
	case d.sendSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *dbusNotifier) release() { <-d.sendSem }

func (d *dbusNotifier) Close() error {
	var err error
	d.closeOnce.Do(func() {
		// Closing the connection closes d.sigs (godbus terminates its
		// signal handler), which ends the loop.
		if cerr := d.conn.Close(); cerr != nil {
			err = fmt.Errorf("notify: close the bus connection: %w", cerr)
		}
		<-d.loopDone
	})
	return err
}
