package simulator

import (
	"fmt"
	"strconv"
	"time"
)

// Card outcomes are scripted by the kuruş part of the amount, so that a test
// (or a demo user at a keyboard) picks the outcome by picking the price. The
// table is repeated in docs/simulator.md; keep the two together.
//
//	.51  BANK_ERROR 10051 "Insufficient funds"         nothing charged
//	.52  TIMEOUT_ERROR 380103                          nothing charged
//	.53  DEVICE_ERROR 380202 (TechPOS not started)     nothing charged
//	.54  PAYMENT_ERROR 10012 "Invalid transaction"     nothing charged
//	.55  approved after Config.SlowCardWait
//	.56  approved with a debit card of the second acquirer
//	.57  DEVICE_ERROR 380203 (empty device response)   nothing charged
//	.58  DEVICE_ERROR 380205 (response not built)      nothing charged
//	.59  errorCode "99", no errorGroup                 nothing charged
//	.60  TIMEOUT_ERROR 380103, but the device approved CHARGED (a query shows the approval)
//	.61  TIMEOUT_ERROR 380103, the device approved      CHARGED, and a query shows
//	     380103 too (iyzico's record stays the timeout) until RevealRecords
//	else approved with the default credit card
//
// Sales, post-auths, partial add-payments and refunds are scripted by their own
// amount (a VUK 507 refund by the sum of its returnAmounts). Voids are always
// approved; cash sales and cash refunds never see a card.

type card struct {
	bin, last4       string
	type509, type507 string // CREDIT_CARD / CREDIT, DEBIT_CARD / DEBIT
	issuer           string
}

type acquirer struct {
	id, name, merchantID string
}

func creditCard() card {
	return card{bin: "552879", last4: "0008", type509: "CREDIT_CARD", type507: "CREDIT", issuer: "12"}
}

func debitCard() card {
	return card{bin: "454671", last4: "1234", type509: "DEBIT_CARD", type507: "DEBIT", issuer: "59"}
}

func bankA() acquirer { return acquirer{id: "12", name: "Sim Bank A", merchantID: "000000001234"} }
func bankB() acquirer { return acquirer{id: "46", name: "Sim Bank B", merchantID: "000000005678"} }

// terminalID is the device's terminal number at an acquirer.
func terminalID(d *device, a *acquirer) string {
	n, _ := strconv.Atoi(a.id)
	return fmt.Sprintf("%04d%04d", n, d.index+1)
}

// posEntryMode "05" is a chip read.
const posEntryMode = "05"

// cardOutcome is what the cardholder and the bank did.
type cardOutcome struct {
	err  *apiError // nil: approved
	card *card     // the card read; nil when the device failed before reading one
	acq  *acquirer
	wait time.Duration
	// late: the device approved (the operation is charged and recorded as
	// approved), but iyzico had stopped waiting and answered 380103.
	late bool
	// hidden: late, and iyzico never learns of the approval: its record of
	// the operation stays the 380103 it answered until RevealRecords.
	hidden bool
}

func (s *Sim) script(a amount) cardOutcome {
	credit, debit, a1, b1 := creditCard(), debitCard(), bankA(), bankB()
	out := cardOutcome{card: &credit, acq: &a1, wait: s.cfg.CardWait}
	switch a.kurus() {
	case 51:
		out.err = errBankDeclined()
	case 52:
		out.err, out.card = errTimeout(), nil
	case 53:
		out.err, out.card = errDeviceAppNotStarted(), nil
	case 54:
		out.err = errPaymentRejected()
	case 55:
		out.wait = s.cfg.SlowCardWait
	case 56:
		out.card, out.acq = &debit, &b1
	case 57:
		out.err, out.card = errDeviceEmptyResponse(), nil
	case 58:
		out.err, out.card = errDeviceBadResponse(), nil
	case 59:
		out.err, out.card = errUnclassified(), nil
	case 60:
		out.late = true
	case 61:
		out.late, out.hidden = true, true
	}
	return out
}

// answerLocked is the answer to an approved card operation: rep, or, when the
// device approved after iyzico stopped waiting (.60), 380103 TIMEOUT_ERROR.
// The operation is recorded as approved either way, so a query shows it.
func (s *Sim) answerLocked(c *call, op *operation, out cardOutcome, rep reply) reply {
	op.hidden = out.hidden
	if out.late {
		return s.fail(c, errTimeout())
	}
	return rep
}

// presentCard runs the card wait of an operation scripted by amount a. It
// reports false when the client went away first (and Config.ContinueAfterCancel
// is off): the operation is then abandoned, nothing charged, nothing recorded.
func (s *Sim) presentCard(c *call, d *device, a amount) (cardOutcome, bool) {
	out := s.script(a)
	return out, s.cardWait(c, d, a.String(), out.wait)
}

// cardWait waits for the cardholder: the OnCardWait hook first, then wait.
func (s *Sim) cardWait(c *call, d *device, amt string, wait time.Duration) bool {
	if s.cfg.OnCardWait != nil {
		s.cfg.OnCardWait(c.work, CardEvent{Op: c.op, Device: d.id, TransactionReferenceID: c.ref, Amount: amt})
	}
	return sleep(c.work, wait)
}

// recordLocked is what a status query shows of op: a charge that iyzico
// never learned of (.61) shows as the device timeout it answered, until
// RevealRecords.
func (s *Sim) recordLocked(op *operation) *operation {
	if !op.hidden || s.revealed {
		return op
	}
	r := *op
	r.err = errTimeout()
	return &r
}

// RevealRecords makes iyzico's records of the .61 charges show the approval
// from now on, as iyzico would once it learns what the device did: a later
// answer that may contradict an operator's settlement.
func (s *Sim) RevealRecords() {
	s.mu.Lock()
	s.revealed = true
	s.mu.Unlock()
}
