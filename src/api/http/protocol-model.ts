import { operations, otherOperations, shapes, type OperationMeta, type ShapeMeta } from '../generated/model.js';

/**
 * What the REST-JSON layer needs to know of a service model: its shapes, its routes, and the routes it only
 * answers to say they are not implemented. Injected, so the layer is tested on shapes the real model lacks
 * (headers, greedy labels, epoch timestamps) without any per-operation code.
 */
export interface ProtocolModel {
  shapes: Record<string, ShapeMeta>;
  operations: Record<string, OperationMeta>;
  unimplemented: Record<string, Pick<OperationMeta, 'method' | 'requestUri'>>;
  /** The SigV4 signing name: a signature scoped to another service is refused, as AWS does. */
  signingName: string;
}

export type StructureMeta = Extract<ShapeMeta, { type: 'structure' }>;

/** Clean Rooms ML's model; `cleanrooms-ml` is the model's `metadata.signingName`. */
export const cleanRoomsMLProtocol: ProtocolModel = {
  shapes,
  operations,
  unimplemented: otherOperations,
  signingName: 'cleanrooms-ml',
};

export function structureOf(model: ProtocolModel, shapeName: string | undefined): StructureMeta | undefined {
  const shape = shapeName === undefined ? undefined : model.shapes[shapeName];
  return shape?.type === 'structure' ? shape : undefined;
}
