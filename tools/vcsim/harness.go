package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io/ioutil"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
	vimxml "github.com/vmware/govmomi/vim25/xml"
)

// harness wraps the simulator's HTTP handler with what stock vcsim 0.24 lacks for our
// tests: fault injection by method name, and tasks that stay running for a while (the
// simulator completes every task inside the call that starts it).
type harness struct {
	next    http.Handler
	control bool

	mu       sync.Mutex
	changed  *sync.Cond // signalled when inflight changes
	faults   []*faultRule
	delays   map[string]time.Duration // task delays by method ("*": every task)
	latency  map[string]time.Duration // delays before the simulator sees a call
	inflight map[string]int           // calls being served, by method
}

type faultRule struct {
	Method  string          `json:"method"`
	Fault   string          `json:"fault"`
	Message string          `json:"message"`
	Fields  json.RawMessage `json:"fields"`
	Count   int             `json:"count"` // how many calls fail; 0: until cleared
}

func newHarness(next http.Handler, control bool) *harness {
	h := &harness{next: next, control: control, delays: map[string]time.Duration{},
		latency: map[string]time.Duration{}, inflight: map[string]int{}}
	h.changed = sync.NewCond(&h.mu)
	return h
}

func (h *harness) setTaskDelay(method string, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d <= 0 {
		delete(h.delays, method)
	} else {
		h.delays[method] = d
	}
}

func (h *harness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_harness/") && h.control {
		h.serveControl(w, r)
		return
	}
	if r.URL.Path != "/sdk" || r.Method != http.MethodPost {
		h.next.ServeHTTP(w, r)
		return
	}
	body, err := ioutil.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	method := soapMethod(body)
	h.track(method, 1)
	defer h.track(method, -1)
	h.mu.Lock()
	lat := h.latency[method]
	h.mu.Unlock()
	if lat > 0 {
		time.Sleep(lat)
	}
	if rule := h.takeFault(method); rule != nil {
		writeFault(w, rule)
		return
	}
	if d := h.delay(method); d > 0 {
		h.serveDelayedTask(w, r, d)
		return
	}
	h.next.ServeHTTP(w, r)
}

func (h *harness) track(method string, d int) {
	h.mu.Lock()
	h.inflight[method] += d
	h.mu.Unlock()
	h.changed.Broadcast()
}

// waitInflight blocks until at least n calls of method are being served, or timeout.
func (h *harness) waitInflight(method string, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, h.changed.Broadcast)
	defer timer.Stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.inflight[method] < n {
		if time.Now().After(deadline) {
			return false
		}
		h.changed.Wait()
	}
	return true
}

func (h *harness) takeFault(method string) *faultRule {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, rule := range h.faults {
		if rule.Method != method && rule.Method != "*" {
			continue
		}
		if rule.Count > 0 {
			rule.Count--
			if rule.Count == 0 {
				h.faults = append(h.faults[:i], h.faults[i+1:]...)
			}
		}
		return rule
	}
	return nil
}

func (h *harness) delay(method string) time.Duration {
	if !strings.HasSuffix(method, "_Task") {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if d, ok := h.delays[method]; ok {
		return d
	}
	return h.delays["*"]
}

var taskRef = regexp.MustCompile(`<returnval type="Task">([^<]+)</returnval>`)

// serveDelayedTask lets the simulator run the method (so its checks and faults are the
// simulator's own), then answers with a second task that reports "running" for d and
// then completes with the first task's result or error.
func (h *harness) serveDelayedTask(w http.ResponseWriter, r *http.Request, d time.Duration) {
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	m := taskRef.FindSubmatch(body)
	var inner *simulator.Task
	if rec.Code == http.StatusOK && m != nil {
		inner, _ = simulator.Map.Get(types.ManagedObjectReference{Type: "Task", Value: string(m[1])}).(*simulator.Task)
	}
	if inner == nil {
		copyResponse(w, rec, body)
		return
	}
	info := inner.Info
	outer := simulator.CreateTask(*info.Entity, "delayed", nil)
	outer.Info.Name = info.Name
	outer.Info.DescriptionId = info.DescriptionId
	simulator.Map.Update(outer, []types.PropertyChange{
		{Name: "info.startTime", Val: time.Now()},
		{Name: "info.state", Val: types.TaskInfoStateRunning},
	})
	go func() {
		time.Sleep(d)
		// The end of simulator.Task.Run, without its second startTime.
		state := types.TaskInfoStateSuccess
		var fault interface{}
		if info.Error != nil {
			state = types.TaskInfoStateError
			fault = *info.Error
		}
		simulator.Map.WithLock(outer, func() {
			simulator.Map.Update(outer, []types.PropertyChange{
				{Name: "info.completeTime", Val: time.Now()},
				{Name: "info.state", Val: state},
				{Name: "info.result", Val: info.Result},
				{Name: "info.error", Val: fault},
			})
		})
	}()
	body = bytes.Replace(body, m[0], []byte(`<returnval type="Task">`+outer.Self.Value+`</returnval>`), 1)
	copyResponse(w, rec, body)
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder, body []byte) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// soapMethod names the first element inside the SOAP body: the vSphere method.
func soapMethod(body []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(body))
	inBody := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			if inBody {
				return se.Name.Local
			}
			inBody = se.Name.Local == "Body"
		}
	}
}

func writeFault(w http.ResponseWriter, rule *faultRule) {
	detail := ""
	if t, ok := types.TypeFunc()(rule.Fault); ok {
		v := reflect.New(t)
		if len(rule.Fields) > 0 {
			_ = json.Unmarshal(rule.Fields, v.Interface())
		}
		var buf bytes.Buffer
		enc := vimxml.NewEncoder(&buf)
		start := vimxml.StartElement{
			Name: vimxml.Name{Local: rule.Fault + "Fault"},
			Attr: []vimxml.Attr{
				{Name: vimxml.Name{Local: "xmlns"}, Value: "urn:vim25"},
				{Name: vimxml.Name{Local: "xsi:type"}, Value: rule.Fault},
			},
		}
		if err := enc.EncodeElement(v.Interface(), start); err == nil && enc.Flush() == nil {
			detail = buf.String()
		}
	}
	var msg bytes.Buffer
	_ = xml.EscapeText(&msg, []byte(rule.Message))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring><detail>%s</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`, msg.String(), detail)
}

// serveControl: POST /_harness/faults {"method","fault","message","fields","count"},
// DELETE /_harness/faults, POST /_harness/task-delay {"method","ms"},
// POST /_harness/method-delay {"method","ms"} (hold calls before the simulator sees them),
// GET /_harness/wait-inflight?method=M&n=N (returns once N calls of M are being served).
func (h *harness) serveControl(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_harness/faults" && r.Method == http.MethodPost:
		rule := new(faultRule)
		if err := json.NewDecoder(r.Body).Decode(rule); err != nil || rule.Method == "" || rule.Fault == "" {
			http.Error(w, "want {method, fault, message?, fields?, count?}", http.StatusBadRequest)
			return
		}
		if _, ok := types.TypeFunc()(rule.Fault); !ok {
			http.Error(w, "unknown fault type "+rule.Fault, http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.faults = append(h.faults, rule)
		h.mu.Unlock()
	case r.URL.Path == "/_harness/faults" && r.Method == http.MethodDelete:
		h.mu.Lock()
		h.faults = nil
		h.mu.Unlock()
	case r.URL.Path == "/_harness/task-delay" && r.Method == http.MethodPost:
		var req struct {
			Method string `json:"method"`
			MS     int    `json:"ms"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Method == "" {
			http.Error(w, "want {method, ms}", http.StatusBadRequest)
			return
		}
		h.setTaskDelay(req.Method, time.Duration(req.MS)*time.Millisecond)
	case r.URL.Path == "/_harness/method-delay" && r.Method == http.MethodPost:
		var req struct {
			Method string `json:"method"`
			MS     int    `json:"ms"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Method == "" {
			http.Error(w, "want {method, ms}", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		if req.MS <= 0 {
			delete(h.latency, req.Method)
		} else {
			h.latency[req.Method] = time.Duration(req.MS) * time.Millisecond
		}
		h.mu.Unlock()
	case r.URL.Path == "/_harness/wait-inflight" && r.Method == http.MethodGet:
		var n int
		_, _ = fmt.Sscanf(r.URL.Query().Get("n"), "%d", &n)
		if !h.waitInflight(r.URL.Query().Get("method"), n, 10*time.Second) {
			http.Error(w, "timed out", http.StatusRequestTimeout)
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
