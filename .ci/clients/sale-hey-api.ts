// The minimal sale of docs/api.md through the SDK @hey-api/openapi-ts
// generates from internal/server/openapi.yaml (.ci/clients.sh).
import { createPayment, refundPayment } from "./gen/hey-api/sdk.gen";
import type { Payment, SaleRequest } from "./gen/hey-api/types.gen";

export const sale: SaleRequest = { amount: "149.90", reference: "ECR-000123" };

export async function pay(): Promise<Payment | undefined> {
  const r = await createPayment({ body: sale, headers: { "Idempotency-Key": "ECR-000123" } });
  return r.data;
}

export async function refundPart(id: string): Promise<Payment | undefined> {
  const r = await refundPayment({ path: { id }, body: { amount: "30.00" }, headers: { "Idempotency-Key": "ECR-000123-R1" } });
  return r.data;
}
