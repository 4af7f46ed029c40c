package omnidesk

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodeStaffPage decodes one full page of the staff list (100
// people, as the hub reads it on every poll), in the service's shape.
func BenchmarkDecodeStaffPage(b *testing.B) {
	var sb strings.Builder
	sb.WriteByte('{')
	for i := range 100 {
		fmt.Fprintf(&sb, `"%d":{"staff":{"staff_id":%d,"staff_email":"person%d@example.com","staff_full_name":"Person Number %d",`+
			`"staff_signature":"","staff_signature_chat":"","thumbnail":"","active":true,`+
			`"created_at":"Mon, 05 May 2014 00:15:17 +0300","updated_at":"Sun, 01 Dec 2024 23:59:59 +0300","status":"online","status_id":%d}},`,
			i, 1000+i, i, i, 1+i%3)
	}
	sb.WriteString(`"total_count":5000}`)
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		items, _, _, err := decodeList[Staff](data, "staff", "total_count")
		if err != nil || len(items) != 100 {
			b.Fatal(len(items), err)
		}
	}
}
