package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// Bad input, roles and path ids of the on-call endpoints.

// oncallInputFixture adds to the on-call fixture a policy, a service and an
// override, so that every endpoint has something to refuse changes to.
type oncallInputFixture struct {
	oncallFixture
	policy, service, override string
}

func newOnCallInputFixture(t *testing.T, e *env) oncallInputFixture {
	f := oncallInputFixture{oncallFixture: newOnCallFixture(t, e)}
	f.policy = str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/escalation-policies", map[string]any{"name": "Fixture policy", "steps": []any{
		map[string]any{"delay_minutes": 5, "targets": []any{map[string]any{"type": "schedule", "id": f.primary}}}}}), "id")
	f.service = str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/services", map[string]any{"name": "fixture-service", "escalation_policy_id": f.policy}), "id")
	f.override = str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/schedules/"+f.primary+"/overrides",
		map[string]any{"user_id": f.cat, "start": "2027-01-10T00:00:00Z", "end": "2027-01-11T00:00:00Z"}), "id")
	return f
}

// TestOnCallBadInput sends bad bodies and queries to every on-call
// endpoint. Each must get {"error":{…}} naming the field, and change
// nothing.
func TestOnCallBadInput(t *testing.T) {
	t.Parallel()
	e := oncallEnv(t, storetest.OpenSQLite)
	f := newOnCallInputFixture(t, e)
	schedules := "/api/v1/schedules"
	schedule := schedules + "/" + f.primary
	overrides := schedule + "/overrides"
	policies := "/api/v1/escalation-policies"
	policy := policies + "/" + f.policy
	services := "/api/v1/services"
	service := services + "/" + f.service
	big := `{"name":"` + strings.Repeat("x", 70<<10) + `"}`

	// layer is a valid layer with extra or replaced JSON members.
	layer := func(members string) string {
		base := map[string]string{
			"name": `"l"`, "start": `"2026-03-07T09:00"`, "rotation": `{"unit":"day","every":1}`, "users": `["` + f.ann + `"]`,
		}
		var b strings.Builder
		for _, m := range strings.Split(members, ";") {
			k, v, ok := strings.Cut(m, "=")
			if !ok {
				continue
			}
			base[k] = v
		}
		b.WriteString("{")
		first := true
		for _, k := range []string{"name", "start", "rotation", "users", "restrictions", "colour", "Users"} {
			v, ok := base[k]
			if !ok || v == "-" {
				continue
			}
			if !first {
				b.WriteString(",")
			}
			first = false
			fmt.Fprintf(&b, "%q:%s", k, v)
		}
		b.WriteString("}")
		return b.String()
	}
	sched := func(layers ...string) string {
		return `{"name":"Never","time_zone":"UTC","layers":[` + strings.Join(layers, ",") + `]}`
	}
	restricted := func(r string) string { return sched(layer("restrictions=[" + r + "]")) }
	pol := func(steps string) string { return `{"name":"Never","steps":` + steps + `}` }
	target := func(typ, id string) string {
		return `{"delay_minutes":5,"targets":[{"type":"` + typ + `","id":"` + id + `"}]}`
	}
	override := func(members string) string { return `{"user_id":"` + f.ann + `",` + members + `}` }

	// A second schedule to collide with on PATCH.
	e.ok(t, http.StatusCreated, "POST", schedules, `{"name":"Taken","time_zone":"UTC","layers":[`+layer("")+`]}`)

	var cases []badCase
	for _, ep := range []struct{ name, method, path, base, first string }{
		{"create schedule", "POST", schedules, sched(layer("")), "name"},
		{"patch schedule", "PATCH", schedule, `{"description":"never"}`, "description"},
		{"create override", "POST", overrides, override(`"start":"2027-02-01T00:00:00Z","end":"2027-02-02T00:00:00Z"`), "user_id"},
		{"create policy", "POST", policies, pol("[" + target("user", f.ann) + "]"), "name"},
		{"patch policy", "PATCH", policy, `{"description":"never"}`, "description"},
	} {
		for _, g := range []struct {
			name  string
			body  any
			code  klaxon.ErrorCode
			field string
		}{
			{"no body", nil, klaxon.EINVALID, "body"},
			{"empty body", "", klaxon.EINVALID, "body"},
			{"not JSON", "name=x", klaxon.EINVALID, "body"},
			{"truncated JSON", ep.base[:len(ep.base)-1], klaxon.EINVALID, "body"},
			{"array", "[" + ep.base + "]", klaxon.EINVALID, "body"},
			{"trailing garbage", ep.base + ` x`, klaxon.EINVALID, "body"},
			{"unknown field", `{"colour":"red",` + ep.base[1:], klaxon.EINVALID, "colour"},
			{"case of a field", `{"NAME":"x",` + ep.base[1:], klaxon.EINVALID, "NAME"},
			{"repeated field", ep.base[:len(ep.base)-1] + `,"` + ep.first + `":null}`, klaxon.EINVALID, ep.first},
			{"id is not settable", `{"id":"7",` + ep.base[1:], klaxon.EINVALID, "id"},
			{"over 64 KiB", big, klaxon.ETOOLARGE, ""},
		} {
			status := http.StatusBadRequest
			if g.code == klaxon.ETOOLARGE {
				status = http.StatusRequestEntityTooLarge
			}
			cases = append(cases, badCase{ep.name + "/" + g.name, ep.method, ep.path, g.body, status, g.code, g.field})
		}
	}
	bad := func(name, method, path string, body any, field string) badCase {
		return badCase{name, method, path, body, http.StatusBadRequest, klaxon.EINVALID, field}
	}
	var manyLayers []string
	for range 33 {
		manyLayers = append(manyLayers, layer(""))
	}
	var manySteps []string
	for range 21 {
		manySteps = append(manySteps, target("user", f.ann))
	}
	cases = append(cases,
		// POST /api/v1/schedules
		bad("create schedule/name missing", "POST", schedules, `{"time_zone":"UTC","layers":[`+layer("")+`]}`, "name"),
		bad("create schedule/name number", "POST", schedules, `{"name":1,"time_zone":"UTC","layers":[`+layer("")+`]}`, "name"),
		bad("create schedule/name two lines", "POST", schedules, `{"name":"a\nb","time_zone":"UTC","layers":[`+layer("")+`]}`, "name"),
		bad("create schedule/description too long", "POST", schedules, map[string]any{"name": "x", "description": strings.Repeat("d", 4097), "time_zone": "UTC"}, "description"),
		bad("create schedule/time zone missing", "POST", schedules, `{"name":"x","layers":[`+layer("")+`]}`, "time_zone"),
		bad("create schedule/time zone unknown", "POST", schedules, `{"name":"x","time_zone":"Mars/Olympus","layers":[`+layer("")+`]}`, "time_zone"),
		bad("create schedule/time zone Local", "POST", schedules, `{"name":"x","time_zone":"Local","layers":[`+layer("")+`]}`, "time_zone"),
		bad("create schedule/time zone offset", "POST", schedules, `{"name":"x","time_zone":"+02:00","layers":[`+layer("")+`]}`, "time_zone"),
		bad("create schedule/time zone number", "POST", schedules, `{"name":"x","time_zone":1,"layers":[`+layer("")+`]}`, "time_zone"),
		bad("create schedule/layers missing", "POST", schedules, `{"name":"x","time_zone":"UTC"}`, "layers"),
		bad("create schedule/layers empty", "POST", schedules, sched(), "layers"),
		bad("create schedule/layers object", "POST", schedules, `{"name":"x","time_zone":"UTC","layers":{}}`, "layers"),
		bad("create schedule/layer not an object", "POST", schedules, sched(`"primary"`), "layers[0]"),
		bad("create schedule/too many layers", "POST", schedules, sched(manyLayers...), "layers"),
		bad("create schedule/layer unknown field", "POST", schedules, sched(layer(`colour="red"`)), "layers[0].colour"),
		bad("create schedule/layer field case", "POST", schedules, sched(layer(`users=-;Users=["`+f.ann+`"]`)), "layers[0].Users"),
		bad("create schedule/layer field twice", "POST", schedules, sched(`{"name":"a","name":"b","start":"2026-03-07T09:00","rotation":{"unit":"day","every":1},"users":["`+f.ann+`"]}`), "layers[0].name"),
		bad("create schedule/layer name missing", "POST", schedules, sched(layer("name=-")), "layers[0].name"),
		bad("create schedule/layer name too long", "POST", schedules, sched(layer(`name="`+strings.Repeat("n", 101)+`"`)), "layers[0].name"),
		bad("create schedule/start missing", "POST", schedules, sched(layer("start=-")), "layers[0].start"),
		bad("create schedule/start with a space", "POST", schedules, sched(layer(`start="2026-03-07 09:00"`)), "layers[0].start"),
		bad("create schedule/start with a zone", "POST", schedules, sched(layer(`start="2026-03-07T09:00:00Z"`)), "layers[0].start"),
		bad("create schedule/start with seconds", "POST", schedules, sched(layer(`start="2026-03-07T09:00:30"`)), "layers[0].start"),
		bad("create schedule/start not a date", "POST", schedules, sched(layer(`start="2026-02-30T09:00"`)), "layers[0].start"),
		bad("create schedule/start number", "POST", schedules, sched(layer(`start=20260307`)), "layers[0].start"),
		bad("create schedule/rotation missing", "POST", schedules, sched(layer("rotation=-")), "layers[0].rotation.unit"),
		bad("create schedule/rotation string", "POST", schedules, sched(layer(`rotation="daily"`)), "layers[0].rotation"),
		bad("create schedule/rotation unknown field", "POST", schedules, sched(layer(`rotation={"unit":"day","every":1,"length":2}`)), "layers[0].rotation.length"),
		bad("create schedule/every 0", "POST", schedules, sched(layer(`rotation={"unit":"day","every":0}`)), "layers[0].rotation.every"),
		bad("create schedule/every missing", "POST", schedules, sched(layer(`rotation={"unit":"day"}`)), "layers[0].rotation.every"),
		bad("create schedule/every negative", "POST", schedules, sched(layer(`rotation={"unit":"week","every":-1}`)), "layers[0].rotation.every"),
		bad("create schedule/every over a year", "POST", schedules, sched(layer(`rotation={"unit":"day","every":367}`)), "layers[0].rotation.every"),
		bad("create schedule/every fraction", "POST", schedules, sched(layer(`rotation={"unit":"day","every":1.5}`)), "layers[0].rotation.every"),
		bad("create schedule/every string", "POST", schedules, sched(layer(`rotation={"unit":"day","every":"1"}`)), "layers[0].rotation.every"),
		bad("create schedule/unit unknown", "POST", schedules, sched(layer(`rotation={"unit":"month","every":1}`)), "layers[0].rotation.unit"),
		bad("create schedule/unit case", "POST", schedules, sched(layer(`rotation={"unit":"Day","every":1}`)), "layers[0].rotation.unit"),
		bad("create schedule/unit missing", "POST", schedules, sched(layer(`rotation={"every":1}`)), "layers[0].rotation.unit"),
		bad("create schedule/users missing", "POST", schedules, sched(layer("users=-")), "layers[0].users"),
		bad("create schedule/users empty", "POST", schedules, sched(layer("users=[]")), "layers[0].users"),
		bad("create schedule/users string", "POST", schedules, sched(layer(`users="`+f.ann+`"`)), "layers[0].users"),
		bad("create schedule/user number", "POST", schedules, sched(layer(`users=[`+f.ann+`]`)), "layers[0].users[0]"),
		bad("create schedule/user malformed", "POST", schedules, sched(layer(`users=["`+f.ann+`","ann"]`)), "layers[0].users[1]"),
		bad("create schedule/user zero", "POST", schedules, sched(layer(`users=["0"]`)), "layers[0].users[0]"),
		bad("create schedule/user empty", "POST", schedules, sched(layer(`users=[""]`)), "layers[0].users[0]"),
		bad("create schedule/user unknown", "POST", schedules, sched(layer(""), layer(`users=["`+f.ann+`","`+f.bob+`","99999999"]`)), "layers[1].users[2]"),
		bad("create schedule/restrictions object", "POST", schedules, sched(layer(`restrictions={}`)), "layers[0].restrictions"),
		bad("create schedule/restriction unknown field", "POST", schedules, restricted(`{"from":"09:00","to":"17:00","until":"18:00"}`), "layers[0].restrictions[0].until"),
		bad("create schedule/restriction day unknown", "POST", schedules, restricted(`{"days":["mon","funday"],"from":"09:00","to":"17:00"}`), "layers[0].restrictions[0].days[1]"),
		bad("create schedule/restriction day twice", "POST", schedules, restricted(`{"days":["mon","Monday"],"from":"09:00","to":"17:00"}`), "layers[0].restrictions[0].days[1]"),
		bad("create schedule/restriction day number", "POST", schedules, restricted(`{"days":[1],"from":"09:00","to":"17:00"}`), "layers[0].restrictions[0].days[0]"),
		bad("create schedule/restriction days string", "POST", schedules, restricted(`{"days":"mon","from":"09:00","to":"17:00"}`), "layers[0].restrictions[0].days"),
		bad("create schedule/restriction from one digit hour", "POST", schedules, restricted(`{"from":"9:00","to":"17:00"}`), "layers[0].restrictions[0].from"),
		bad("create schedule/restriction from 25:00", "POST", schedules, restricted(`{"from":"25:00","to":"17:00"}`), "layers[0].restrictions[0].from"),
		bad("create schedule/restriction from 24:00", "POST", schedules, restricted(`{"from":"24:00","to":"17:00"}`), "layers[0].restrictions[0].from"),
		bad("create schedule/restriction from missing", "POST", schedules, restricted(`{"to":"17:00"}`), "layers[0].restrictions[0].from"),
		bad("create schedule/restriction to 24:01", "POST", schedules, restricted(`{"from":"09:00","to":"24:01"}`), "layers[0].restrictions[0].to"),
		bad("create schedule/restriction to minutes 60", "POST", schedules, restricted(`{"from":"09:00","to":"17:60"}`), "layers[0].restrictions[0].to"),
		bad("create schedule/restriction to missing", "POST", schedules, restricted(`{"from":"09:00"}`), "layers[0].restrictions[0].to"),
		bad("create schedule/restriction to with seconds", "POST", schedules, restricted(`{"from":"09:00","to":"17:00:30"}`), "layers[0].restrictions[0].to"),
		bad("create schedule/ical_url is not settable", "POST", schedules, `{"ical_url":"x",`+sched(layer(""))[1:], "ical_url"),
		badCase{"create schedule/duplicate name", "POST", schedules, `{"name":"Payments primary","time_zone":"UTC","layers":[` + layer("") + `]}`, http.StatusConflict, klaxon.ECONFLICT, "name"},
		// PATCH /api/v1/schedules/{id}
		bad("patch schedule/name empty", "PATCH", schedule, `{"name":""}`, "name"),
		bad("patch schedule/time zone unknown", "PATCH", schedule, `{"time_zone":"Nowhere/Land"}`, "time_zone"),
		bad("patch schedule/time zone empty", "PATCH", schedule, `{"time_zone":""}`, "time_zone"),
		bad("patch schedule/layers empty", "PATCH", schedule, `{"layers":[]}`, "layers"),
		bad("patch schedule/layer every 0", "PATCH", schedule, `{"layers":[`+layer(`rotation={"unit":"hour","every":0}`)+`]}`, "layers[0].rotation.every"),
		bad("patch schedule/layer user unknown", "PATCH", schedule, `{"layers":[`+layer(`users=["99999999"]`)+`]}`, "layers[0].users[0]"),
		bad("patch schedule/layer unknown field", "PATCH", schedule, `{"layers":[`+layer(`colour="red"`)+`]}`, "layers[0].colour"),
		bad("patch schedule/valid and invalid", "PATCH", schedule, `{"name":"Renamed","time_zone":"Nowhere/Land"}`, "time_zone"),
		bad("patch schedule/ical_url is not settable", "PATCH", schedule, `{"ical_url":"x"}`, "ical_url"),
		badCase{"patch schedule/duplicate name", "PATCH", schedule, `{"name":"Taken"}`, http.StatusConflict, klaxon.ECONFLICT, "name"},
		// POST /api/v1/schedules/{id}/overrides
		bad("override/user missing", "POST", overrides, `{"start":"2027-02-01T00:00:00Z","end":"2027-02-02T00:00:00Z"}`, "user_id"),
		bad("override/user number", "POST", overrides, `{"user_id":`+f.ann+`,"start":"2027-02-01T00:00:00Z","end":"2027-02-02T00:00:00Z"}`, "user_id"),
		bad("override/user malformed", "POST", overrides, `{"user_id":"ann","start":"2027-02-01T00:00:00Z","end":"2027-02-02T00:00:00Z"}`, "user_id"),
		bad("override/user unknown", "POST", overrides, `{"user_id":"99999999","start":"2027-02-01T00:00:00Z","end":"2027-02-02T00:00:00Z"}`, "user_id"),
		bad("override/start missing", "POST", overrides, override(`"end":"2027-02-02T00:00:00Z"`), "start"),
		bad("override/start null", "POST", overrides, override(`"start":null,"end":"2027-02-02T00:00:00Z"`), "start"),
		bad("override/end missing", "POST", overrides, override(`"start":"2027-02-01T00:00:00Z"`), "end"),
		bad("override/start malformed", "POST", overrides, override(`"start":"tomorrow","end":"2027-02-02T00:00:00Z"`), "start"),
		bad("override/start number", "POST", overrides, override(`"start":1798761600,"end":"2027-02-02T00:00:00Z"`), "start"),
		bad("override/start without zone", "POST", overrides, override(`"start":"2027-02-01T00:00","end":"2027-02-02T00:00:00Z"`), "start"),
		bad("override/start date only", "POST", overrides, override(`"start":"2027-02-01","end":"2027-02-02T00:00:00Z"`), "start"),
		bad("override/end malformed", "POST", overrides, override(`"start":"2027-02-01T00:00:00Z","end":"2027-02-02T24:00:00Z"`), "end"),
		bad("override/end equals start", "POST", overrides, override(`"start":"2027-02-01T00:00:00Z","end":"2027-02-01T00:00:00Z"`), "end"),
		bad("override/end before start", "POST", overrides, override(`"start":"2027-02-01T00:00:00Z","end":"2027-01-31T23:59:59Z"`), "end"),
		bad("override/end before start by offset", "POST", overrides, override(`"start":"2027-02-01T00:00:00Z","end":"2027-02-01T00:30:00+01:00"`), "end"),
		bad("override/overlaps the same user", "POST", overrides, `{"user_id":"`+f.cat+`","start":"2027-01-10T23:00:00Z","end":"2027-01-12T00:00:00Z"}`, "start"),
		bad("override/start at 1970", "POST", overrides, override(`"start":"1970-01-01T00:00:00Z","end":"1970-01-02T00:00:00Z"`), "start"),
		bad("override/start before 1970", "POST", overrides, override(`"start":"0001-01-01T00:00:00Z","end":"1970-01-02T00:00:00Z"`), "start"),
		bad("override/schedule_id is not settable", "POST", overrides, override(`"schedule_id":"1","start":"2027-02-01T00:00:00Z","end":"2027-02-02T00:00:00Z"`), "schedule_id"),
		// POST /api/v1/escalation-policies
		bad("create policy/name missing", "POST", policies, `{"steps":[`+target("user", f.ann)+`]}`, "name"),
		bad("create policy/name empty", "POST", policies, `{"name":"","steps":[`+target("user", f.ann)+`]}`, "name"),
		bad("create policy/steps missing", "POST", policies, `{"name":"x"}`, "steps"),
		bad("create policy/steps empty", "POST", policies, pol(`[]`), "steps"),
		bad("create policy/steps null", "POST", policies, pol(`null`), "steps"),
		bad("create policy/steps object", "POST", policies, pol(`{}`), "steps"),
		bad("create policy/too many steps", "POST", policies, pol("["+strings.Join(manySteps, ",")+"]"), "steps"),
		bad("create policy/step unknown field", "POST", policies, pol(`[{"delay":5,"targets":[{"type":"user","id":"`+f.ann+`"}]}]`), "steps[0].delay"),
		bad("create policy/delay missing", "POST", policies, pol(`[{"targets":[{"type":"user","id":"`+f.ann+`"}]}]`), "steps[0].delay_minutes"),
		bad("create policy/delay 0", "POST", policies, pol(`[{"delay_minutes":0,"targets":[{"type":"user","id":"`+f.ann+`"}]}]`), "steps[0].delay_minutes"),
		bad("create policy/delay over a week", "POST", policies, pol(`[{"delay_minutes":10081,"targets":[{"type":"user","id":"`+f.ann+`"}]}]`), "steps[0].delay_minutes"),
		bad("create policy/delay string", "POST", policies, pol(`[{"delay_minutes":"5","targets":[{"type":"user","id":"`+f.ann+`"}]}]`), "steps[0].delay_minutes"),
		bad("create policy/targets missing", "POST", policies, pol(`[{"delay_minutes":5}]`), "steps[0].targets"),
		bad("create policy/targets empty", "POST", policies, pol(`[{"delay_minutes":5,"targets":[]}]`), "steps[0].targets"),
		bad("create policy/target unknown field", "POST", policies, pol(`[{"delay_minutes":5,"targets":[{"type":"user","id":"`+f.ann+`","name":"Ann"}]}]`), "steps[0].targets[0].name"),
		bad("create policy/target field case", "POST", policies, pol(`[{"delay_minutes":5,"targets":[{"type":"user","ID":"`+f.ann+`"}]}]`), "steps[0].targets[0].ID"),
		bad("create policy/target type missing", "POST", policies, pol(`[{"delay_minutes":5,"targets":[{"id":"`+f.ann+`"}]}]`), "steps[0].targets[0].type"),
		bad("create policy/target type unknown", "POST", policies, pol("["+target("group", f.ann)+"]"), "steps[0].targets[0].type"),
		bad("create policy/target type case", "POST", policies, pol("["+target("User", f.ann)+"]"), "steps[0].targets[0].type"),
		bad("create policy/target id missing", "POST", policies, pol(`[{"delay_minutes":5,"targets":[{"type":"user"}]}]`), "steps[0].targets[0].id"),
		bad("create policy/target id number", "POST", policies, pol(`[{"delay_minutes":5,"targets":[{"type":"user","id":`+f.ann+`}]}]`), "steps[0].targets[0].id"),
		bad("create policy/target id malformed", "POST", policies, pol("["+target("user", "ann")+"]"), "steps[0].targets[0].id"),
		bad("create policy/user unknown", "POST", policies, pol("["+target("user", f.ann)+","+target("user", "99999999")+"]"), "steps[1].targets[0].id"),
		bad("create policy/schedule unknown", "POST", policies, pol("["+target("schedule", "99999999")+"]"), "steps[0].targets[0].id"),
		bad("create policy/team unknown", "POST", policies, pol("["+target("team", "99999999")+"]"), "steps[0].targets[0].id"),
		bad("create policy/user id as a team", "POST", policies, pol("["+target("team", f.cat)+"]"), "steps[0].targets[0].id"),
		bad("create policy/target twice", "POST", policies, pol(`[{"delay_minutes":5,"targets":[{"type":"user","id":"`+f.ann+`"},{"type":"user","id":"`+f.ann+`"}]}]`), "steps[0].targets[1]"),
		bad("create policy/repeat negative", "POST", policies, `{"name":"x","repeat":-1,"steps":[`+target("user", f.ann)+`]}`, "repeat"),
		bad("create policy/repeat 10", "POST", policies, `{"name":"x","repeat":10,"steps":[`+target("user", f.ann)+`]}`, "repeat"),
		bad("create policy/repeat string", "POST", policies, `{"name":"x","repeat":"1","steps":[`+target("user", f.ann)+`]}`, "repeat"),
		badCase{"create policy/duplicate name", "POST", policies, `{"name":"Fixture policy","steps":[` + target("user", f.ann) + `]}`, http.StatusConflict, klaxon.ECONFLICT, "name"},
		// PATCH /api/v1/escalation-policies/{id}
		bad("patch policy/name empty", "PATCH", policy, `{"name":" "}`, "name"),
		bad("patch policy/steps empty", "PATCH", policy, `{"steps":[]}`, "steps"),
		bad("patch policy/steps target unknown", "PATCH", policy, `{"steps":[`+target("schedule", "99999999")+`]}`, "steps[0].targets[0].id"),
		bad("patch policy/steps unknown field", "PATCH", policy, `{"steps":[{"delay_minutes":5,"targets":[],"x":1}]}`, "steps[0].x"),
		bad("patch policy/repeat 10", "PATCH", policy, `{"repeat":10}`, "repeat"),
		bad("patch policy/valid and invalid", "PATCH", policy, `{"name":"Renamed","repeat":-1}`, "repeat"),
		// Services' escalation_policy_id.
		bad("create service/policy number", "POST", services, `{"name":"never","escalation_policy_id":`+f.policy+`}`, "escalation_policy_id"),
		bad("create service/policy malformed", "POST", services, `{"name":"never","escalation_policy_id":"p1"}`, "escalation_policy_id"),
		bad("create service/policy zero", "POST", services, `{"name":"never","escalation_policy_id":"0"}`, "escalation_policy_id"),
		bad("create service/policy unknown", "POST", services, `{"name":"never","escalation_policy_id":"99999999"}`, "escalation_policy_id"),
		bad("create service/policy object", "POST", services, `{"name":"never","escalation_policy_id":{"id":"1"}}`, "escalation_policy_id"),
		bad("patch service/policy number", "PATCH", service, `{"escalation_policy_id":1}`, "escalation_policy_id"),
		bad("patch service/policy malformed", "PATCH", service, `{"escalation_policy_id":"one"}`, "escalation_policy_id"),
		bad("patch service/policy empty", "PATCH", service, `{"escalation_policy_id":""}`, "escalation_policy_id"),
		bad("patch service/policy negative", "PATCH", service, `{"escalation_policy_id":"-1"}`, "escalation_policy_id"),
		bad("patch service/policy unknown", "PATCH", service, `{"escalation_policy_id":"99999999"}`, "escalation_policy_id"),
		bad("patch service/policy bool", "PATCH", service, `{"escalation_policy_id":true}`, "escalation_policy_id"),
		bad("patch service/policy array", "PATCH", service, `{"escalation_policy_id":["1"]}`, "escalation_policy_id"),
		bad("patch service/policy valid and name invalid", "PATCH", service, `{"escalation_policy_id":null,"name":""}`, "name"),
	)

	// Query parameters.
	shifts := schedule + "/shifts"
	gaps := schedule + "/gaps"
	const from, to = "from=2026-03-01T00:00:00Z", "to=2026-03-08T00:00:00Z"
	for _, ep := range []string{shifts, gaps} {
		name := ep[strings.LastIndex(ep, "/")+1:]
		cases = append(cases,
			bad(name+"/from and to missing", "GET", ep, nil, "from"),
			bad(name+"/to missing", "GET", ep+"?"+from, nil, "to"),
			bad(name+"/from missing", "GET", ep+"?"+to, nil, "from"),
			bad(name+"/from empty", "GET", ep+"?from=&"+to, nil, "from"),
			bad(name+"/from malformed", "GET", ep+"?from=yesterday&"+to, nil, "from"),
			bad(name+"/from date only", "GET", ep+"?from=2026-03-01&"+to, nil, "from"),
			bad(name+"/from without zone", "GET", ep+"?from=2026-03-01T00:00:00&"+to, nil, "from"),
			bad(name+"/from unix", "GET", ep+"?from=1772323200&"+to, nil, "from"),
			bad(name+"/to malformed", "GET", ep+"?"+from+"&to=2026-13-01T00:00:00Z", nil, "to"),
			bad(name+"/reversed", "GET", ep+"?from=2026-03-08T00:00:00Z&to=2026-03-01T00:00:00Z", nil, "to"),
			bad(name+"/empty range", "GET", ep+"?from=2026-03-08T00:00:00Z&to=2026-03-08T00:00:00Z", nil, "to"),
			bad(name+"/over 366 days", "GET", ep+"?from=2026-01-01T00:00:00Z&to=2027-01-02T00:00:01Z", nil, "to"),
			bad(name+"/centuries", "GET", ep+"?from=0001-01-01T00:00:00Z&to=9999-12-31T00:00:00Z", nil, "to"),
		)
	}
	cases = append(cases,
		bad("schedule oncall/at malformed", "GET", schedule+"/oncall?at=now", nil, "at"),
		bad("schedule oncall/at date only", "GET", schedule+"/oncall?at=2026-03-07", nil, "at"),
		bad("schedule oncall/at unencoded plus", "GET", schedule+"/oncall?at=2026-03-07T09:00:00+01:00", nil, "at"),
		bad("oncall/at malformed", "GET", "/api/v1/oncall?at=2026-03-07T25:00:00Z", nil, "at"),
		bad("overrides/from without to", "GET", overrides+"?"+from, nil, "to"),
		bad("overrides/to without from", "GET", overrides+"?"+to, nil, "from"),
		bad("overrides/from malformed", "GET", overrides+"?from=x&"+to, nil, "from"),
		bad("overrides/reversed", "GET", overrides+"?from=2026-03-08T00:00:00Z&to=2026-03-01T00:00:00Z", nil, "to"),
		bad("list schedules/limit 0", "GET", schedules+"?limit=0", nil, "limit"),
		bad("list schedules/limit 1001", "GET", schedules+"?limit=1001", nil, "limit"),
		bad("list schedules/cursor", "GET", schedules+"?cursor=abc", nil, "cursor"),
		bad("list policies/limit", "GET", policies+"?limit=x", nil, "limit"),
		bad("list policies/cursor", "GET", policies+"?cursor=-1", nil, "cursor"),
	)

	before := map[string]string{}
	watched := []string{schedules + "?limit=1000", schedule, overrides, policies + "?limit=1000", services + "?limit=1000", "/api/v1/audit?limit=1000"}
	for _, p := range watched {
		before[p] = fmt.Sprint(e.ok(t, http.StatusOK, "GET", p, nil))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call(t, tc.method, tc.path, e.owner, tc.body), tc.status, tc.code, tc.field)
		})
	}
	for _, p := range watched {
		if got := fmt.Sprint(e.ok(t, http.StatusOK, "GET", p, nil)); got != before[p] {
			t.Errorf("GET %s changed:\n%s\n→\n%s", p, before[p], got)
		}
	}
}

// TestOnCallAuth checks every on-call endpoint without a token (401), with
// an unknown token (401), and with tokens of each role (403 below the role
// it needs). Responders may create overrides, not schedules.
func TestOnCallAuth(t *testing.T) {
	t.Parallel()
	e := oncallEnv(t, storetest.OpenSQLite)
	f := newOnCallInputFixture(t, e)
	tokens := map[klaxon.Role]string{klaxon.RoleOwner: e.owner}
	for _, role := range []klaxon.Role{klaxon.RoleViewer, klaxon.RoleResponder, klaxon.RoleAdmin} {
		_, tokens[role] = e.createToken(t, "oncall "+string(role), role)
	}
	n := 0
	fresh := func() int { n++; return n }
	layers := []any{map[string]any{"name": "l", "start": "2026-03-07T09:00", "rotation": map[string]any{"unit": "day", "every": 1}, "users": []string{f.ann}}}
	steps := []any{map[string]any{"delay_minutes": 5, "targets": []any{map[string]any{"type": "user", "id": f.ann}}}}
	schedule := "/api/v1/schedules/" + f.primary
	for _, ep := range []struct {
		method, path string
		body         func() any
		need         klaxon.Role
		status       int
	}{
		{"GET", "/api/v1/schedules", nil, klaxon.RoleViewer, 200},
		{"POST", "/api/v1/schedules", func() any {
			return map[string]any{"name": fmt.Sprint("Auth ", fresh()), "time_zone": "UTC", "layers": layers}
		}, klaxon.RoleAdmin, 201},
		{"GET", schedule, nil, klaxon.RoleViewer, 200},
		{"PATCH", schedule, func() any { return map[string]any{"description": fmt.Sprint("d", fresh())} }, klaxon.RoleAdmin, 200},
		{"GET", schedule + "/overrides", nil, klaxon.RoleViewer, 200},
		{"POST", schedule + "/overrides", func() any {
			start := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(fresh()) * time.Hour)
			return map[string]any{"user_id": f.bob, "start": rfc3339(start), "end": rfc3339(start.Add(time.Hour))}
		}, klaxon.RoleResponder, 201},
		{"GET", schedule + "/oncall", nil, klaxon.RoleViewer, 200},
		{"GET", schedule + "/shifts?from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z", nil, klaxon.RoleViewer, 200},
		{"GET", schedule + "/gaps?from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z", nil, klaxon.RoleViewer, 200},
		{"POST", schedule + "/rotate-feed", nil, klaxon.RoleAdmin, 200},
		{"POST", "/api/v1/users/" + f.ann + "/rotate-feed", nil, klaxon.RoleAdmin, 200},
		{"GET", "/api/v1/users/" + f.ann + "/feed", nil, klaxon.RoleAdmin, 200},
		{"GET", "/api/v1/escalation-policies", nil, klaxon.RoleViewer, 200},
		{"POST", "/api/v1/escalation-policies", func() any { return map[string]any{"name": fmt.Sprint("Auth ", fresh()), "steps": steps} }, klaxon.RoleAdmin, 201},
		{"GET", "/api/v1/escalation-policies/" + f.policy, nil, klaxon.RoleViewer, 200},
		{"PATCH", "/api/v1/escalation-policies/" + f.policy, func() any { return map[string]any{"description": fmt.Sprint("d", fresh())} }, klaxon.RoleAdmin, 200},
		{"GET", "/api/v1/oncall", nil, klaxon.RoleViewer, 200},
		{"PATCH", "/api/v1/services/" + f.service, func() any { return map[string]any{"escalation_policy_id": nil} }, klaxon.RoleAdmin, 200},
	} {
		name := ep.method + " " + ep.path
		t.Run(name, func(t *testing.T) {
			body := func() any {
				if ep.body == nil {
					return nil
				}
				return ep.body()
			}
			wantError(t, e.call(t, ep.method, ep.path, "", body()), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
			wantError(t, e.call(t, ep.method, ep.path, "klx_unknown", body()), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
			for _, role := range []klaxon.Role{klaxon.RoleViewer, klaxon.RoleResponder, klaxon.RoleAdmin, klaxon.RoleOwner} {
				r := e.call(t, ep.method, ep.path, tokens[role], body())
				if !role.Allows(ep.need) {
					wantError(t, r, http.StatusForbidden, klaxon.EFORBIDDEN, "")
				} else if r.status != ep.status {
					t.Errorf("%s as %s: %s, want %d", name, role, r, ep.status)
				}
			}
		})
	}
	// Calendar feeds need no API token; one does not stand in for the
	// feed's own token.
	feedURL := str(t, e.ok(t, http.StatusOK, "GET", schedule, nil), "ical_url")
	if r := e.feed(t, feedURL); r.status != http.StatusOK {
		t.Errorf("feed without an API token: %s", r)
	}
	wantError(t, e.call(t, "GET", "/ical/schedules/"+f.primary+"/0123456789abcdef0123456789abcdef.ics", e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
}

// TestOnCallPathIDs checks that a malformed or unknown id in a path is 404
// on every on-call endpoint that takes one, and that nothing is deleted.
func TestOnCallPathIDs(t *testing.T) {
	t.Parallel()
	e := oncallEnv(t, storetest.OpenSQLite)
	f := newOnCallInputFixture(t, e)
	for _, id := range []string{"abc", "0", "-1", "1.5", "1e3", "0x10", "9223372036854775808", "99999999"} {
		for _, ep := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/schedules/ID", nil},
			{"PATCH", "/api/v1/schedules/ID", `{"name":"x"}`},
			{"GET", "/api/v1/schedules/ID/overrides", nil},
			{"POST", "/api/v1/schedules/ID/overrides", `{"user_id":"` + f.ann + `","start":"2029-01-01T00:00:00Z","end":"2029-01-02T00:00:00Z"}`},
			{"GET", "/api/v1/schedules/ID/oncall", nil},
			{"GET", "/api/v1/schedules/ID/shifts?from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z", nil},
			{"GET", "/api/v1/schedules/ID/shifts", nil},
			{"GET", "/api/v1/schedules/ID/gaps?from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z", nil},
			{"POST", "/api/v1/schedules/ID/rotate-feed", nil},
			{"POST", "/api/v1/users/ID/rotate-feed", nil},
			{"GET", "/api/v1/users/ID/feed", nil},
			{"GET", "/api/v1/escalation-policies/ID", nil},
			{"PATCH", "/api/v1/escalation-policies/ID", `{"name":"x"}`},
			{"GET", "/ical/schedules/ID/0123456789abcdef0123456789abcdef.ics", nil},
			{"GET", "/ical/users/ID/0123456789abcdef0123456789abcdef.ics", nil},
		} {
			path := strings.Replace(ep.path, "ID", id, 1)
			t.Run(ep.method+" "+path, func(t *testing.T) {
				wantError(t, e.call(t, ep.method, path, e.owner, ep.body), http.StatusNotFound, klaxon.ENOTFOUND, "")
			})
		}
	}
	// No hard deletes.
	for _, path := range []string{"/api/v1/schedules/" + f.primary, "/api/v1/escalation-policies/" + f.policy, "/api/v1/schedules/" + f.primary + "/overrides"} {
		if r := e.call(t, "DELETE", path, e.owner, nil); r.status != http.StatusMethodNotAllowed {
			t.Errorf("DELETE %s: %s, want 405", path, r)
		}
	}
}
