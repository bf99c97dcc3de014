package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// The order of a subscriber's deliveries: only its oldest pending one is
// claimable, so that it reads the updates in the order they were made, a
// retry included, and is never sent two at once. A later delivery becomes
// claimable once the one before is finished (sent or failed) or
// cancelled.

// testStatusDeliveryOrder walks two subscribers through three updates,
// one of them retried, and a cancellation.
func testStatusDeliveryOrder(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	start := clk.Now()
	x := mustWebhookSubscriber(t, s, "https://h.example.com/x")
	y := mustWebhookSubscriber(t, s, "https://h.example.com/y")
	names := map[int64]string{x.ID: "x", y.ID: "y"}
	inc, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Outage", Message: "1"})
	if err != nil {
		t.Fatal(err)
	}
	number := map[int64]int{inc.Updates[0].ID: 1}
	addUpdate := func(n int) {
		t.Helper()
		_, u, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Message: strconv.Itoa(n)})
		if err != nil {
			t.Fatal(err)
		}
		number[u.ID] = n
	}
	addUpdate(2)
	addUpdate(3)

	// claim claims what is due at at and checks it, written "x:1 y:1"
	// (subscriber:update number, sorted); held keeps the deliveries by
	// that name for finish.
	held := map[string]klaxon.StatusDelivery{}
	claim := func(owner string, at time.Time, want string) {
		t.Helper()
		var got []string
		for _, d := range claimAll(t, s, owner, at) {
			name := fmt.Sprintf("%s:%d", names[d.Subscriber.ID], number[d.UpdateID])
			if d.Kind != klaxon.DeliveryUpdate || d.Incident.ID != inc.ID || d.Incident.Updates[0].Body != strconv.Itoa(number[d.UpdateID]) {
				t.Fatalf("delivery %s = %+v", name, d)
			}
			got = append(got, name)
			held[name] = d
		}
		sort.Strings(got)
		if join(got) != want {
			t.Fatalf("at +%s %s claimed %q, want %q", at.Sub(start), owner, join(got), want)
		}
	}
	finish := func(name, owner string, r klaxon.StatusDeliveryResult) {
		t.Helper()
		if err := s.FinishStatusDelivery(ctx, held[name].ID, owner, r); err != nil {
			t.Fatalf("finish %s: %v", name, err)
		}
	}
	next := func(want time.Time) {
		t.Helper()
		if got, ok, err := s.NextStatusDelivery(ctx); err != nil || !ok || !got.Equal(want) {
			t.Fatalf("next = +%s %v %v, want +%s", got.Sub(start), ok, err, want.Sub(start))
		}
	}
	sent, failed := klaxon.StatusDeliveryResult{Sent: true}, klaxon.StatusDeliveryResult{Failed: true, Error: "410 Gone"}

	// Each subscriber's first update only, however large the limit; the
	// later ones wait behind it while it is leased, on every node. The
	// next instant anything can be claimed is the leases' end, although
	// the later deliveries are due now.
	now := clk.Now()
	claim("n1", now, "x:1 y:1")
	claim("n2", now, "")
	next(now.Add(time.Minute))
	// Finished either way, sent or failed for good, the next one comes.
	finish("x:1", "n1", sent)
	finish("y:1", "n1", failed)
	claim("n1", now, "x:2 y:2")
	// A delivery put back for later holds back its subscriber's later
	// updates, and nobody else's.
	retryAt := now.Add(5 * time.Minute)
	finish("x:2", "n1", klaxon.StatusDeliveryResult{RetryAt: retryAt, Error: "503"})
	finish("y:2", "n1", sent)
	claim("n2", now, "y:3")
	finish("y:3", "n2", sent)
	claim("n1", now.Add(time.Minute), "")
	// x:3 is due but held back: nothing can be claimed before the retry.
	next(retryAt)
	claim("n1", retryAt.Add(-time.Second), "")
	claim("n2", retryAt, "x:2")
	if held["x:2"].Attempts != 2 {
		t.Fatalf("the retry is attempt %d, want 2", held["x:2"].Attempts)
	}
	claim("n1", retryAt, "")
	// A lease that runs out hands over the same delivery, not the next.
	claim("n3", retryAt.Add(time.Minute), "x:2")
	finish("x:2", "n3", sent)
	claim("n1", retryAt.Add(time.Minute), "x:3")
	finish("x:3", "n1", sent)
	claim("n1", retryAt.Add(time.Hour), "")
	if _, ok, err := s.NextStatusDelivery(ctx); err != nil || ok {
		t.Fatalf("next with nothing pending: %v %v", ok, err)
	}

	// A cancelled delivery holds back nothing: x unsubscribes while its
	// update 4 is leased, and subscribes again; its update 5 is
	// claimable at once, while y's waits behind y's leased update 4.
	clk.add(time.Hour)
	now = clk.Now()
	addUpdate(4)
	claim("n1", now, "x:4 y:4")
	if _, err := s.UnsubscribeStatusSubscriber(ctx, "test", x.ID); err != nil {
		t.Fatal(err)
	}
	if again := mustWebhookSubscriber(t, s, x.Address); again.ID != x.ID {
		t.Fatalf("subscribing again made subscriber %d, want %d", again.ID, x.ID)
	}
	addUpdate(5)
	claim("n2", now, "x:5")
	if err := s.FinishStatusDelivery(ctx, held["x:4"].ID, "n1", sent); !errors.Is(err, klaxon.ErrLeaseLost) {
		t.Fatalf("finishing a cancelled delivery: %v", err)
	}
	finish("x:5", "n2", sent)
	finish("y:4", "n1", sent)
	claim("n1", now, "y:5")
	finish("y:5", "n1", sent)
	claim("n1", now.Add(time.Hour), "")
}

// testStatusDeliveryOrderConcurrent has several nodes claim and send at
// once: still no subscriber holds two deliveries at a time, and each gets
// every update once, in order.
func testStatusDeliveryOrderConcurrent(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	const subscribers, updates, nodes = 4, 5, 4
	for i := range subscribers {
		mustWebhookSubscriber(t, s, fmt.Sprintf("https://h.example.com/%d", i))
	}
	inc, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Outage"})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{inc.Updates[0].ID}
	for i := 1; i < updates; i++ {
		_, u, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Message: strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, u.ID)
	}
	now := clk.Now()
	var mu sync.Mutex
	holding := map[int64]int64{} // subscriber → the delivery a node holds
	got := map[int64][]int64{}   // subscriber → updates in the order claimed
	total := 0
	deadline := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	for n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("n%d", n)
			for {
				ds, err := s.ClaimStatusDeliveries(ctx, owner, now, time.Minute, 2)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, d := range ds {
					if other, ok := holding[d.Subscriber.ID]; ok {
						t.Errorf("%s claimed delivery %d of subscriber %d while %d was held", owner, d.ID, d.Subscriber.ID, other)
					}
					holding[d.Subscriber.ID] = d.ID
					got[d.Subscriber.ID] = append(got[d.Subscriber.ID], d.UpdateID)
					total++
				}
				done := total >= subscribers*updates
				mu.Unlock()
				for _, d := range ds {
					mu.Lock()
					delete(holding, d.Subscriber.ID)
					mu.Unlock()
					if err := s.FinishStatusDelivery(ctx, d.ID, owner, klaxon.StatusDeliveryResult{Sent: true}); err != nil {
						t.Error(err)
						return
					}
				}
				if done {
					return
				}
				if len(ds) == 0 {
					if time.Now().After(deadline) {
						t.Errorf("%s: deliveries still pending after 20 s", owner)
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(got) != subscribers {
		t.Fatalf("deliveries went to %d subscribers, want %d", len(got), subscribers)
	}
	for sub, ups := range got {
		if !slices.Equal(ups, want) {
			t.Errorf("subscriber %d was sent updates %v, want %v", sub, ups, want)
		}
	}
	if ds := claimAll(t, s, "n1", now.Add(time.Hour)); len(ds) != 0 {
		t.Fatalf("left over: %+v", ds)
	}
}
