import { l402Driver } from './l402Driver';
import { mppDriver } from './mppDriver';
import type { ConformanceProtocol, ProtocolDriver, ProtocolDriverParameters } from './types';
import { x402Driver } from './x402Driver';

export { conformanceProtocols, type ConformanceProtocol, type ProtocolDriver, type PaidRequest } from './types';

/** The kit's driver of one protocol. */
export function protocolDriver(protocol: ConformanceProtocol, parameters: ProtocolDriverParameters): ProtocolDriver {
  if (protocol === 'l402') return l402Driver(parameters);
  if (protocol === 'mpp') return mppDriver(parameters);
  return x402Driver(parameters);
}
