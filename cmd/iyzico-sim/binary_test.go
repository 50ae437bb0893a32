package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests are acceptance point 2 of issue #3: a full VUK 509 day and a full
// VUK 507 day over real HTTP against the built cmd/iyzico-sim binary. They use
// literal paths and field names from the spec, not the simulator's constants,
// so that a wrong constant cannot hide.

func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "iyzico-sim")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if _, err := exec.LookPath("go"); err != nil && runtime.GOOS == "windows" {
		// The Windows test binaries run under Wine in CI, which has no Go
		// toolchain; .ci/windows.sh runs iyzico-sim.exe itself there.
		t.Skip("builds the binary with go, which is not on this Windows PATH")
	}
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("VUK 509 day", func(t *testing.T) { vuk509Day(t, startBinary(t, bin)) })
	t.Run("VUK 507 day", func(t *testing.T) { vuk507Day(t, startBinary(t, bin, "-devices", "PAV860047264,P00134")) })
}

// lockedBuffer collects the process's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBinary starts the simulator on a free loopback port and returns its base
// URL. When the test ends it sends SIGINT and expects a clean exit.
func startBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0"}, args...)...)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second): // a deadline, not a wait: the line normally comes at once
		_ = cmd.Process.Kill()
		t.Fatalf("no URL on stdout; stderr: %s", stderr)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "iyzico-sim listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		_ = cmd.Process.Kill()
		t.Fatalf("first line %q", line)
	}
	t.Cleanup(func() {
		if err := cmd.Process.Signal(os.Interrupt); err != nil { // not on Windows
			_ = cmd.Process.Kill()
		}
		err := cmd.Wait()
		if runtime.GOOS != "windows" && err != nil {
			t.Errorf("iyzico-sim did not stop cleanly: %v; stderr:\n%s", err, stderr)
		}
		if strings.Contains(stderr.String(), "sim-secret") || strings.Contains(stderr.String(), "sim-password") {
			t.Errorf("a secret reached the log:\n%s", stderr)
		}
	})
	return base
}

// client speaks to the simulator as an ECR bridge would.
type client struct {
	t     *testing.T
	base  string
	token string
	hc    *http.Client
}

func newClient(t *testing.T, base string) *client {
	return &client{t: t, base: base, hc: &http.Client{Timeout: 30 * time.Second}}
}

func (c *client) login() {
	c.t.Helper()
	form := url.Values{
		"scope": {"iyzipayApiGateway"}, "client_id": {"sim-client"}, "client_secret": {"sim-secret"},
		"response_type": {"code"}, "username": {"sim-user"}, "password": {"sim-password"},
		"request_timestamp": {fmt.Sprint(time.Now().UnixMilli())},
	}
	status, got := c.form("/in-store/oauth2/authorize", form, false)
	if status != 200 {
		c.t.Fatalf("authorize: %d %v", status, got)
	}
	status, got = c.form("/in-store/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {got["code"].(string)}}, true)
	if status != 200 || got["token_type"] != "Bearer" {
		c.t.Fatalf("token: %d %v", status, got)
	}
	c.token = got["access_token"].(string)
	status, got = c.form("/in-store/oauth2/token/refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {got["refresh_token"].(string)}}, true)
	if status != 200 {
		c.t.Fatalf("refresh: %d %v", status, got)
	}
	c.token = got["access_token"].(string)
}

func (c *client) form(path string, v url.Values, basic bool) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth("sim-client", "sim-secret")
	}
	return c.do(req)
}

func (c *client) post(path string, body map[string]any) (int, map[string]any) {
	c.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	return c.do(req)
}

func (c *client) get(path string, out any) {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) do(req *http.Request) (int, map[string]any) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s: %v", req.URL.Path, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		c.t.Fatalf("%s: %v", req.URL.Path, err)
	}
	return resp.StatusCode, m
}

// want fails the test unless every listed member has the wanted value (numbers
// compare by their JSON text).
func want(t *testing.T, what string, got map[string]any, fields map[string]string) {
	t.Helper()
	for k, v := range fields {
		if fmt.Sprint(got[k]) != v {
			t.Errorf("%s: %s = %v, want %s (in %v)", what, k, got[k], v, got)
		}
	}
}

// checkClean asserts that every request was recorded without findings, and the charges.
func checkClean(t *testing.T, c *client, charges map[string]int) {
	t.Helper()
	var reqs []struct {
		Op       string           `json:"op"`
		Findings []map[string]any `json:"findings"`
	}
	c.get("/_sim/requests", &reqs)
	for _, r := range reqs {
		if len(r.Findings) > 0 {
			t.Errorf("%s: findings %v", r.Op, r.Findings)
		}
	}
	var got struct {
		Total       int            `json:"total"`
		ByReference map[string]int `json:"by_reference"`
	}
	c.get("/_sim/charges", &got)
	total := 0
	for ref, n := range charges {
		total += n
		if got.ByReference[ref] != n {
			t.Errorf("charges of %s: %d, want %d", ref, got.ByReference[ref], n)
		}
	}
	if got.Total != total {
		t.Errorf("total charges %d, want %d: %v", got.Total, total, got.ByReference)
	}
}

func vuk509Day(t *testing.T, base string) {
	c := newClient(t, base)
	c.login()
	const dev = "PAV860047264"
	sale := func(ref, price string) (int, map[string]any) {
		return c.post("/v2/terminal-host/payment", map[string]any{
			"conversationId": "c-" + ref, "locale": "tr", "deviceUniqueId": dev, "transactionReferenceId": ref,
			"price": json.Number(price), "currency": "TRY", "installment": 1, "salesType": "SALE",
		})
	}
	query := func(ref string) (int, map[string]any) {
		return c.post("/v2/terminal-host/payment/query-transaction-status", map[string]any{
			"conversationId": "q-" + ref, "locale": "tr", "deviceUniqueId": dev, "transactionReferenceId": ref,
		})
	}

	status, s1 := sale("ecr-0001", "149.90")
	if status != 200 {
		t.Fatalf("sale: %d %v", status, s1)
	}
	want(t, "sale", s1, map[string]string{"status": "SUCCESS", "errorCode": "", "price": "149.9",
		"binNumber": "552879", "lastFourDigits": "0008", "cardType": "CREDIT_CARD", "batchNo": "0001"})
	date := s1["paymentDate"].(string)

	status, d := sale("ecr-0002", "20.51")
	want(t, "declined sale", d, map[string]string{"status": "FAILURE", "errorCode": "10051", "errorGroup": "BANK_ERROR"})
	if status != 400 || d["consumerErrorMessage"] == "" {
		t.Errorf("declined sale: %d %v", status, d)
	}

	status, q := query("ecr-0001")
	want(t, "query sale", q, map[string]string{"status": "SUCCESS", "paymentId": s1["paymentId"].(string), "transactionReferenceId": "ecr-0001"})
	_, q = query("ecr-0002")
	want(t, "query declined", q, map[string]string{"status": "FAILURE", "errorCode": "10051", "errorGroup": "BANK_ERROR"})
	if status != 200 {
		t.Errorf("query: %d", status)
	}

	_, s3 := sale("ecr-0003", "50.00")
	status, v := c.post("/v2/terminal-host/payment/void", map[string]any{
		"conversationId": "c-v", "locale": "tr", "deviceUniqueId": dev, "transactionReferenceId": "ecr-0004",
		"paymentId": s3["paymentId"], "paymentDate": date,
	})
	if status != 200 || v["status"] != "SUCCESS" || v["cancelHostReference"] == "" {
		t.Fatalf("void: %d %v", status, v)
	}
	_, q = query("ecr-0003")
	want(t, "query voided", q, map[string]string{"cancelHostReference": v["cancelHostReference"].(string)})

	status, r := c.post("/v2/terminal-host/payment/refund", map[string]any{
		"conversationId": "c-r", "locale": "tr", "deviceUniqueId": dev, "transactionReferenceId": "ecr-0005",
		"paymentId": s1["paymentId"], "paymentDate": date, "price": json.Number("40.00"),
	})
	if status != 200 || r["status"] != "SUCCESS" || r["refundHostReference"] == "" {
		t.Fatalf("refund: %d %v", status, r)
	}

	status, eod := c.post("/v2/terminal-host/eod", map[string]any{"conversationId": "c-eod", "locale": "tr", "deviceUniqueId": dev})
	if status != 200 || eod["status"] != "SUCCESS" || eod["batchNo"] != "0001" {
		t.Fatalf("eod: %d %v", status, eod)
	}
	totals := eod["totals"].([]any)
	if len(totals) != 1 {
		t.Fatalf("totals %v", totals)
	}
	// 149.90 sale − 40.00 refund; the void took 50.00 out and the decline never was in.
	want(t, "totals", totals[0].(map[string]any), map[string]string{
		"acquirerId": "12", "totalTransactionAmount": "109.90", "totalTransactionCount": "2", "responseCode": "00", "batchNo": "0001",
	})
	_, next := sale("ecr-0006", "1.00")
	want(t, "next batch", next, map[string]string{"batchNo": "0002"})

	checkClean(t, c, map[string]int{"ecr-0001": 1, "ecr-0002": 0, "ecr-0003": 1, "ecr-0006": 1})
}

func vuk507Day(t *testing.T, base string) {
	c := newClient(t, base)
	c.login()
	const dev = "P00134"
	line := func(name, tax string, qty int, unit, total string) map[string]any {
		return map[string]any{"name": name, "unitCode": "C62", "taxGroupCode": tax, "itemQuantity": qty,
			"unitPriceAmount": json.Number(unit), "grossPriceAmount": json.Number(total), "totalPriceAmount": json.Number(total)}
	}
	saleBody := func(ref, price string, items ...map[string]any) map[string]any {
		return map[string]any{
			"locale": "TR", "conversationId": "c-" + ref, "deviceUniqueId": dev, "transactionReferenceId": ref,
			"price": json.Number(price), "paidPrice": json.Number(price), "paymentType": "CARD", "currency": "TRY",
			"installment": 1, "saleAppName": "MyPOS", "saleAppVersion": "1.0.0", "saleDocumentType": "1", "saleItems": items,
		}
	}

	status, s1 := c.post("/v2/terminal-host/gmu/payment", saleBody("g-0001", "123.45",
		line("Tea", "20", 2, "50.00", "100.00"), line("Cake", "10", 1, "23.45", "23.45")))
	if status != 200 {
		t.Fatalf("sale: %d %v", status, s1)
	}
	want(t, "sale", s1, map[string]string{"status": "success", "errorCode": "0", "price": "123.45", "cardType": "CREDIT"})
	paymentDate := s1["paymentDate"].(json.Number) // an integer YYYYMMDD
	if _, err := paymentDate.Int64(); err != nil || len(paymentDate.String()) != 8 {
		t.Fatalf("paymentDate %v", paymentDate)
	}

	status, info := c.post("/v2/terminal-host/gmu/payment/refundable-sale-info", map[string]any{"transactionReferenceId": "g-0001", "deviceUniqueId": dev})
	if status != 200 {
		t.Fatalf("refundable-sale-info: %d %v", status, info)
	}
	want(t, "refundable", info, map[string]string{"totalReturnableAmount": "123.45", "currency": "TRY"})
	items := info["saleItems"].([]any)
	tea := items[0].(map[string]any)
	want(t, "refundable tea", tea, map[string]string{"name": "Tea", "returnableQuantity": "2", "returnableAmount": "100.00"})
	// Line ids are iyzico's, not positions: a client must read them here.
	if id := fmt.Sprint(tea["id"]); id == "1" || id == fmt.Sprint(items[1].(map[string]any)["id"]) {
		t.Fatalf("line ids %v and %v look positional or are not unique", tea["id"], items[1].(map[string]any)["id"])
	}

	refundLine := line("Tea", "20", 1, "50.00", "50.00")
	refundLine["relatedSaleItemId"] = fmt.Sprint(tea["id"])
	refundLine["returnAmount"] = json.Number("50.00")
	status, r := c.post("/v2/terminal-host/gmu/payment/refund", map[string]any{
		"deviceUniqueId": dev, "paymentId": s1["paymentId"], "paymentDate": paymentDate, "transactionReferenceId": "g-0002",
		"saleAppName": "MyPOS", "saleAppVersion": "1.0.0", "saleItems": []any{refundLine},
	})
	if status != 200 {
		t.Fatalf("refund: %d %v", status, r)
	}
	want(t, "refund", r, map[string]string{"status": "success", "price": "50.00", "vatAmount": "8.33"})

	status, start := c.post("/v2/terminal-host/gmu/partial-payment/start", saleBody("g-0003", "200.56", line("Shoes", "20", 1, "200.56", "200.56")))
	if status != 200 {
		t.Fatalf("start: %d %v", status, start)
	}
	want(t, "start", start, map[string]string{"remainingPaymentAmount": "200.56"})
	saleNumber := start["saleNumber"].(string)
	for ref, price := range map[string]string{"g-0004": "120.00", "g-0005": "80.56"} {
		status, add := c.post("/v2/terminal-host/gmu/partial-payment/add-payment", map[string]any{
			"saleNumber": saleNumber, "price": json.Number(price), "transactionReferenceId": ref, "deviceUniqueId": dev,
		})
		if status != 200 || add["status"] != "success" {
			t.Fatalf("add %s: %d %v", ref, status, add)
		}
	}
	status, done := c.post("/v2/terminal-host/gmu/partial-payment/complete", map[string]any{
		"saleNumber": saleNumber, "transactionReferenceId": "g-0006", "deviceUniqueId": dev,
	})
	if status != 200 {
		t.Fatalf("complete: %d %v", status, done)
	}
	want(t, "complete", done, map[string]string{"status": "success", "paymentId": saleNumber, "remainingPaymentAmount": "0.00", "price": "200.56"})

	status, eod := c.post("/v2/terminal-host/gmu/eod", map[string]any{"deviceUniqueId": dev, "conversationId": "c-eod"})
	if status != 200 || eod["status"] != "success" {
		t.Fatalf("eod: %d %v", status, eod)
	}
	tails := eod["tails"].([]any)
	if len(tails) != 2 {
		t.Fatalf("tails %v", tails)
	}
	// Bank A: 123.45 sale − 50.00 refund + 120.00 part; bank B: the 80.56 debit part.
	want(t, "tail A", tails[0].(map[string]any), map[string]string{"acquirerId": "12", "totalTransactionAmount": "193.45", "totalTransactionCount": "3"})
	want(t, "tail B", tails[1].(map[string]any), map[string]string{"acquirerId": "46", "totalTransactionAmount": "80.56", "totalTransactionCount": "1"})

	checkClean(t, c, map[string]int{"g-0001": 1, "g-0004": 1, "g-0005": 1})
}
