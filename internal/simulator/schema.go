package simulator

// This file declares the request schema of every terminal-host operation, as
// spec §3 (VUK 509) and §4 (VUK 507) give them. Switches of Config that change a
// schema (open questions 1, 3 and 7) are applied here and nowhere else.

// schemas holds one request schema per operation name.
type schemas map[string]schema

func buildSchemas(cfg Config) schemas {
	var (
		localeEnum509   = []string{"tr", "en"}
		currencyEnum    = []string{"TRY", "USD", "EUR"}
		salesTypeEnum   = []string{"SALE", "PRE_AUTH", "POST_AUTH"}
		paymentTypeEnum = []string{"CARD", "CASH"}
		documentEnum    = []string{"1", "9"}
		customerEnum    = []string{"1", "2"}
		installmentEnum = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}
	)
	req := func(name string, k jsonKind) field { return field{name: name, kind: k, required: true} }
	opt := func(name string, k jsonKind) field { return field{name: name, kind: k} }
	device := field{name: "deviceUniqueId", kind: kString, required: true, maxLen: maxDeviceIDLen}
	optDevice := device
	optDevice.required = false

	// VUK 509: conversationId and locale are required everywhere (spec §3).
	common509 := func(fs ...field) schema {
		return append(schema{
			req("conversationId", kString),
			field{name: "locale", kind: kString, required: true, enum: localeEnum509},
		}, fs...)
	}
	// VUK 507: both optional, locale free text defaulting to TR (spec §4).
	common507 := func(fs ...field) schema {
		return append(schema{opt("locale", kString), opt("conversationId", kString)}, fs...)
	}

	queryID := func(name string) field {
		f := opt(name, kString)
		f.required = cfg.StrictQuery509
		if name == "deviceUniqueId" {
			f.maxLen = maxDeviceIDLen
		}
		return f
	}

	saleItem := func(refund bool) []field {
		lineRefund := refund || cfg.RequireReturnFieldsOnSale
		return []field{
			field{name: "relatedSaleItemId", kind: kString, required: lineRefund},
			req("name", kString),
			opt("generic", kBool),
			req("unitCode", kString),
			req("taxGroupCode", kString),
			req("itemQuantity", kInteger),
			req("unitPriceAmount", kAmount),
			req("grossPriceAmount", kAmount),
			req("totalPriceAmount", kAmount),
			field{name: "returnAmount", kind: kAmount, required: lineRefund},
		}
	}
	buyer := []field{
		field{name: "customerType", kind: kInteger, enum: customerEnum},
		opt("firstName", kString), opt("middleName", kString), opt("familyName", kString),
		opt("companyName", kString), opt("taxOfficeCode", kString), opt("taxNumber", kString),
		opt("country", kString), opt("city", kString), opt("district", kString),
	}
	gmuSale := common507(
		device,
		req("transactionReferenceId", kString),
		req("price", kAmount),
		req("paidPrice", kAmount),
		field{name: "paymentType", kind: kString, required: true, enum: paymentTypeEnum},
		field{name: "currency", kind: kString, enum: currencyEnum},
		opt("installment", kInteger),
		req("saleAppName", kString),
		req("saleAppVersion", kString),
		field{name: "saleDocumentType", kind: kString, required: true, enum: documentEnum},
		opt("notificationPhone", kString),
		opt("notificationEmail", kString),
		field{name: "saleItems", kind: kObjects, required: true, minItems: 1, fields: saleItem(false)},
		field{name: "buyerInfo", kind: kObject, fields: buyer},
	)

	return schemas{
		OpPayment: common509(
			device,
			req("transactionReferenceId", kString),
			req("price", kAmount),
			field{name: "currency", kind: kString, required: true, enum: currencyEnum},
			field{name: "installment", kind: kInteger, required: true, enum: installmentEnum},
			// With AcceptSaleType the handler checks that one of the two spellings is there.
			field{name: "salesType", kind: kString, required: !cfg.AcceptSaleType, enum: salesTypeEnum},
			opt("paymentId", kString),
		),
		OpQuery: common509(
			queryID("paymentId"),
			queryID("deviceUniqueId"),
			queryID("transactionReferenceId"),
		),
		OpVoid: common509(
			req("paymentId", kString),
			req("paymentDate", kDate),
			device,
			req("transactionReferenceId", kString),
			opt("reason", kString),
			opt("description", kString),
		),
		OpRefund: common509(
			req("paymentId", kString),
			device,
			req("price", kAmount),
			req("transactionReferenceId", kString),
			req("paymentDate", kDate),
			opt("reason", kString),
			opt("description", kString),
		),
		OpEOD: common509(device, opt("useSummary", kBool)),

		OpGmuPayment: gmuSale,
		OpGmuQuery: common507(
			opt("paymentId", kString),
			optDevice,
			opt("transactionReferenceId", kString),
		),
		OpGmuVoid: common507(
			device,
			req("paymentId", kString),
			req("paymentDate", kIntDate),
			req("transactionReferenceId", kString),
			opt("reason", kString),
			opt("description", kString),
		),
		OpGmuRefund: common507(
			device,
			req("paymentId", kString),
			req("paymentDate", kIntDate),
			req("transactionReferenceId", kString),
			req("saleAppName", kString),
			req("saleAppVersion", kString),
			opt("notificationPhone", kString),
			opt("notificationEmail", kString),
			field{name: "saleItems", kind: kObjects, required: true, minItems: 1, fields: saleItem(true)},
		),
		OpGmuRefundableSaleInfo: common507(optDevice, req("transactionReferenceId", kString)),
		OpGmuPartialStart:       gmuSale,
		OpGmuPartialAdd: common507(
			optDevice,
			opt("transactionReferenceId", kString),
			req("saleNumber", kString),
			req("price", kAmount),
			opt("installment", kInteger),
			field{name: "currency", kind: kString, enum: currencyEnum},
		),
		OpGmuPartialComplete: common507(
			device,
			req("transactionReferenceId", kString),
			req("saleNumber", kString),
		),
		OpGmuEOD: common507(device, opt("useSummary", kBool)),
	}
}
