package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store/storetest"

	"github.com/klaxonhq/klaxon/internal/store"
)

// BenchmarkIngest measures durable ingestion through the group committer on
// an SQLite file, one event per call from many goroutines (as the HTTP
// handlers call it). go test -run=^$ -bench=Ingest ./internal/store/
func BenchmarkIngest(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("events=%d", batch), func(b *testing.B) {
			s := storetest.OpenSQLite(b, store.Options{})
			svc := klaxon.Service{Name: "bench"}
			if err := s.CreateService(context.Background(), "bench", &svc); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				evs := make([]klaxon.Event, batch)
				for pb.Next() {
					for i := range evs {
						k := n.Add(1)
						evs[i] = klaxon.Event{ServiceID: svc.ID, IntegrationID: 1, Action: klaxon.ActionTrigger,
							DedupKey: fmt.Sprintf("key-%d", k%10000), Summary: "CPU above 95% on web-1",
							Severity: klaxon.SeverityCritical, Source: "web-1", Component: "cpu"}
					}
					if _, err := s.Ingest(context.Background(), evs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkIngestNewAlerts measures ingestion when every event opens a new
// alert, the path that also writes webhook deliveries: without
// subscriptions (one existence check per transaction) and with one
// subscription to every service (one delivery row per alert).
// go test -run=^$ -bench=IngestNewAlerts ./internal/store/
func BenchmarkIngestNewAlerts(b *testing.B) {
	for _, hooks := range []int{0, 1} {
		b.Run(fmt.Sprintf("webhooks=%d", hooks), func(b *testing.B) {
			s := storetest.OpenSQLite(b, store.Options{})
			svc := klaxon.Service{Name: "bench"}
			if err := s.CreateService(context.Background(), "bench", &svc); err != nil {
				b.Fatal(err)
			}
			for range hooks {
				w := klaxon.WebhookSubscription{URL: "https://hooks.example.com/klaxon", Events: klaxon.WebhookEvents()}
				if err := s.CreateWebhookSubscription(context.Background(), "bench", &w); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				evs := make([]klaxon.Event, 100)
				for pb.Next() {
					for i := range evs {
						evs[i] = klaxon.Event{ServiceID: svc.ID, IntegrationID: 1, Action: klaxon.ActionTrigger,
							DedupKey: fmt.Sprintf("key-%d", n.Add(1)), Summary: "CPU above 95% on web-1",
							Severity: klaxon.SeverityCritical, Source: "web-1", Component: "cpu"}
					}
					if _, err := s.Ingest(context.Background(), evs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "events/s")
		})
	}
}
