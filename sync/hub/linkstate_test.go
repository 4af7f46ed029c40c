package hub

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/omnidesk"
)

// The directory decides links when staff or operators change, not per call,
// and tells the agents whose link changed.
func TestDirectoryRelinksOnChangeOnly(t *testing.T) {
	d := newDirectory(FileConfig{}, nil)
	d.updateOperators([]chaport.Operator{{ID: opBoris, Email: "boris@acme.test", Name: "Boris"}}, "")
	staff := []omnidesk.Staff{{ID: 202, Email: "boris@acme.test", StatusID: 2}, {ID: 203, Email: "x@acme.test", StatusID: 2}}
	d.updateStaff(staff, time.Now(), true, "")
	if op, ok := d.operatorFor(202); !ok || op.ID != opBoris || op.Name != "Boris" {
		t.Fatalf("202: %+v, %v", op, ok)
	}
	staff[1].Email = "boris@acme.test"
	d.updateStaff(staff, time.Now(), true, "")
	if op, ok := d.operatorFor(203); ok {
		t.Fatalf("203 took Boris's operator by e-mail: %+v", op)
	}
	if op, ok := d.operatorFor(202); !ok || op.ID != opBoris {
		t.Fatalf("202 lost its pinned operator: %+v, %v", op, ok)
	}
}

func TestLinksFileRoundTripAndStrictness(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LinksFileName)
	if pins, err := loadPins(path); err != nil || len(pins) != 0 {
		t.Fatalf("missing file: %v, %v", pins, err)
	}
	want := map[int64]string{201: opAnna, 203: opChen}
	if err := savePins(path, want); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved file: %v, %v", fi, err)
	}
	if got, err := loadPins(path); err != nil || !maps.Equal(got, want) {
		t.Fatalf("read back %v, %v", got, err)
	}
	for _, bad := range []string{
		``,
		`{"version": 1, "pins": {"201": "op-anna"}`,
		`{"version": 2, "pins": {}}`,
		`{"version": 1, "pins": {"0201": "op-anna"}}`,
		`{"version": 1, "pins": {"201": ""}}`,
		`{"version": 1, "pins": {"201": "a b"}}`,
		`{"version": 1, "pins": {"201": "op-anna"}, "pinz": {}}`,
		`{"version": 1, "pins": {}} {}`,
	} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadPins(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "remove it while the hub is stopped") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
