package tray

// item is the part of a menu entry the tray uses. systray's *MenuItem is
// wrapped to it, and tests use a fake, so that the update logic is tested
// without a session bus.
type item interface {
	SetTitle(string)
	Show()
	Hide()
	Check()
	Uncheck()
	Enable()
	Disable()
	Clicked() <-chan struct{}
}

// menu is the whole menu, built once.
type menu struct {
	header    item
	chaport   item
	elsewhere item
	today     item
	changes   [maxChanges]item
	statuses  [maxStatuses]item
	recentHdr item
	recent    [maxRecent]item
	stay      item
	pause     item
	autostart item
	omnidesk  item
	sign      item
	quit      item
}

// builder creates entries in menu order.
type builder interface {
	Add(title string, checkbox bool) item
	Separator()
}

func buildMenu(b builder) *menu {
	m := &menu{}
	m.header = b.Add("Starting…", false)
	m.header.Disable()
	m.chaport = b.Add("Chaport: …", false)
	m.chaport.Disable()
	m.elsewhere = b.Add("", false)
	m.elsewhere.Disable()
	m.elsewhere.Hide()
	m.today = b.Add("", false)
	m.today.Disable()
	m.today.Hide()
	for i := range m.changes {
		m.changes[i] = b.Add("", false)
		m.changes[i].Disable()
		m.changes[i].Hide()
	}
	b.Separator()
	for i := range m.statuses {
		m.statuses[i] = b.Add("", true)
		m.statuses[i].Hide()
	}
	b.Separator()
	m.recentHdr = b.Add("Recent bot chats", false)
	m.recentHdr.Disable()
	m.recentHdr.Hide()
	for i := range m.recent {
		m.recent[i] = b.Add("", false)
		m.recent[i].Hide()
	}
	m.stay = b.Add("Stay online 5 min", false)
	m.stay.Hide()
	m.pause = b.Add("Pause sync", true)
	m.autostart = b.Add("Start at login", true)
	m.omnidesk = b.Add("Open Omnidesk", false)
	m.sign = b.Add("Sign in…", false)
	b.Separator()
	m.quit = b.Add("Quit", false)
	return m
}

// shown tracks what was last applied to the menu, so that apply touches
// only what changed: every change is a D-Bus signal the host re-renders.
type shown struct {
	v        View
	applied  bool
	autoOn   bool
	autoKnow bool
}

func (sh *shown) apply(m *menu, v View, setIcon func(string), setTooltip func(string)) {
	first := !sh.applied
	old := sh.v
	if first || v.Icon != old.Icon {
		setIcon(v.Icon)
	}
	if first || v.Tooltip != old.Tooltip {
		setTooltip(v.Tooltip)
	}
	if first || v.Header != old.Header {
		m.header.SetTitle(v.Header)
	}
	if first || v.Chaport != old.Chaport {
		if v.Chaport == "" {
			m.chaport.Hide()
		} else {
			m.chaport.SetTitle(v.Chaport)
			m.chaport.Show()
		}
	}
	showLine(first, m.elsewhere, old.Elsewhere, v.Elsewhere)
	showLine(first, m.today, old.Today, v.Today)
	for i, it := range m.changes {
		var was, now string
		if i < len(old.Changes) {
			was = old.Changes[i]
		}
		if i < len(v.Changes) {
			now = v.Changes[i]
		}
		showLine(first, it, was, now)
	}
	for i, it := range m.statuses {
		var was, now StatusItem
		wasOK, nowOK := i < len(old.Statuses), i < len(v.Statuses)
		if wasOK {
			was = old.Statuses[i]
		}
		if nowOK {
			now = v.Statuses[i]
		}
		if !first && wasOK == nowOK && was == now {
			continue
		}
		if !nowOK {
			it.Hide()
			continue
		}
		it.SetTitle(now.Label)
		if now.Checked {
			it.Check()
		} else {
			it.Uncheck()
		}
		it.Show()
	}
	toggle(first || (len(v.Recent) > 0) != (len(old.Recent) > 0), len(v.Recent) > 0, m.recentHdr.Show, m.recentHdr.Hide)
	for i, it := range m.recent {
		wasOK, nowOK := i < len(old.Recent), i < len(v.Recent)
		switch {
		case !nowOK && (first || wasOK):
			it.Hide()
		case nowOK && (first || !wasOK || old.Recent[i] != v.Recent[i]):
			it.SetTitle(v.Recent[i].Label)
			it.Show()
		}
	}
	toggle(first || v.StayOnline != old.StayOnline, v.StayOnline, m.stay.Show, m.stay.Hide)
	toggle(first || v.Paused != old.Paused, v.Paused, m.pause.Check, m.pause.Uncheck)
	toggle(first || v.OmnideskURL != old.OmnideskURL, v.OmnideskURL != "", m.omnidesk.Enable, m.omnidesk.Disable)
	if first || v.SignedIn != old.SignedIn {
		if v.SignedIn {
			m.sign.SetTitle("Sign out")
			m.pause.Enable()
		} else {
			m.sign.SetTitle("Sign in…")
			m.pause.Disable()
		}
	}
	sh.v, sh.applied = v, true
}

// setAutostart shows the login-item state.
func (sh *shown) setAutostart(m *menu, on bool) {
	if sh.autoKnow && sh.autoOn == on {
		return
	}
	sh.autoOn, sh.autoKnow = on, true
	toggle(true, on, m.autostart.Check, m.autostart.Uncheck)
}

func toggle(changed, on bool, yes, no func()) {
	if !changed {
		return
	}
	if on {
		yes()
	} else {
		no()
	}
}

// showLine sets a text-only entry, hidden while its text is empty.
func showLine(first bool, it item, was, now string) {
	if !first && was == now {
		return
	}
	if now == "" {
		it.Hide()
		return
	}
	it.SetTitle(now)
	it.Show()
}
