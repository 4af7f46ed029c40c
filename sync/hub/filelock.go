package hub

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

// Lock timings of lockFile. A token command holds the lock for
// milliseconds, so a lock this old was left by one that died.
const (
	lockStaleAfter = 10 * time.Second
	lockWaitAtMost = 15 * time.Second
)

// lockFile takes an exclusive lock on path by creating it with O_EXCL,
// which works alike on every OS and file system without cgo, and returns
// the function that releases it. Two token commands run at once (two admins,
// a script) each read-modify-write the registry; without the lock one of
// them would silently drop the other's revocation.
func lockFile(path string) (unlock func(), err error) {
	deadline := time.Now().Add(lockWaitAtMost)
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, werr := f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				_ = os.Remove(path)
				return nil, fmt.Errorf("writing the lock file %s: %w", path, werr)
			}
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("creating the lock file %s: %w", path, err)
		}
		if fi, serr := os.Stat(path); serr == nil && time.Since(fi.ModTime()) > lockStaleAfter {
			// Left by a command that died holding it: whatever it wrote was
			// written atomically or not at all, so taking over is safe.
			_ = os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("waiting for the lock %s: another token command holds it (remove the file if none is running)", path)
		}
		time.Sleep(5*time.Millisecond + rand.N(10*time.Millisecond))
	}
}
