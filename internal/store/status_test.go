package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// TestStatusUpdateDeliveredOnce processes the same update twice (as a node
// retrying after an unknown commit outcome would): each subscriber still
// has exactly one delivery of it.
func TestStatusUpdateDeliveredOnce(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "klaxon.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, url := range []string{"https://h.example.com/1", "https://h.example.com/2"} {
		sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberWebhook, Address: url}
		if _, err := s.CreateStatusSubscriber(ctx, "test", &sub); err != nil {
			t.Fatal(err)
		}
	}
	inc, err := s.CreateStatusIncident(ctx, "test", klaxon.NewIncident{Name: "Outage"})
	if err != nil {
		t.Fatal(err)
	}
	updateID := inc.Updates[0].ID
	for round := 0; round < 2; round++ {
		err := s.write(ctx, func(tx *sql.Tx) error {
			n, err := enqueueUpdateDeliveries(ctx, tx, inc.ID, updateID, s.now())
			if err == nil && n != 0 {
				t.Errorf("processing the update again created %d deliveries", n)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM status_deliveries WHERE update_id = $1`, updateID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d deliveries of one update to two subscribers", n)
	}
}
