package ingest

import "testing"

// Realistic events of about 400 bytes, the size a monitoring tool sends.

const benchNative = `{"action":"trigger","dedup_key":"prod-db-03/disk/var-lib-postgresql","summary":"Disk /var/lib/postgresql at 95% on prod-db-03","severity":"critical","source":"prod-db-03.example.com","component":"postgres","group":"prod-db","class":"disk","details":{"used_pct":95.2,"mount":"/var/lib/postgresql","free":"12GiB"},"links":[{"href":"https://grafana.example.com/d/disk?var-host=prod-db-03","text":"Disk dashboard"}],"timestamp":"2026-03-04T15:04:05.123Z"}`

const benchPagerDuty = `{"routing_key":"e93facc04764012d7bfb002500d5d1a6","event_action":"trigger","dedup_key":"prod-db-03/disk","payload":{"summary":"Disk /var/lib/postgresql at 95% on prod-db-03","source":"prod-db-03.example.com","severity":"critical","timestamp":"2026-03-04T15:04:05.123+0000","component":"postgres","group":"prod-db","class":"disk","custom_details":{"used_pct":95.2,"free":"12GiB"}},"links":[{"href":"https://grafana.example.com/d/disk","text":"Disk dashboard"}]}`

func BenchmarkDecodeNative(b *testing.B) {
	body := []byte(benchNative)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeNative(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePagerDuty(b *testing.B) {
	body := []byte(benchPagerDuty)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, problems := DecodePagerDuty(body); len(problems) > 0 {
			b.Fatal(problems)
		}
	}
}
