//go:build !((linux && !android) || freebsd || netbsd || openbsd || dragonfly || windows || darwin)

package notify

// New returns Nop: this OS has no notification implementation.
func New(opts Options) (Notifier, error) {
	opts.withDefaults().Logger.Debug("desktop notifications are not supported on this OS")
	return Nop{}, nil
}
