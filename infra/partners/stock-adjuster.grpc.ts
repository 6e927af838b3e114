/**
 * Partners' StockAdjuster through commerce's inventory gRPC service (AdjustStock): commerce applies
 * its own rules (never below zero, once per adjustment id, an inventory.adjusted event) — partners
 * never touch commerce's tables.
 */
import type { StockAdjuster } from '../../domains/partners/ports.ts';
import type { GrpcInventory } from '../commerce/inventory.grpc.ts';

export function grpcStockAdjuster(inventory: Pick<GrpcInventory, 'adjustStock'>): StockAdjuster {
  return { adjust: (request) => inventory.adjustStock(request) };
}
