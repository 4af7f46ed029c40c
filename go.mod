module github.com/omnitray/omnitray

go 1.26.0

require (
	fyne.io/systray v1.12.2
	github.com/emersion/go-autostart v0.0.0-20250403115856-34830d6457d2
	github.com/esiqveland/notify v0.13.3
	github.com/godbus/dbus/v5 v5.2.4
	github.com/gorilla/websocket v1.5.3
	github.com/zalando/go-keyring v0.2.8
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
)

require (
	github.com/danieljoos/wincred v1.2.3 // indirect
	golang.org/x/time v0.16.0 // indirect
)
