/** Error codes of IPAM. */
import { CniCode, defineErrors } from '../common/errors.js';

export const IpamErrors = defineErrors({
  IPAM_POOL_EXHAUSTED: {
    cni: CniCode.IpamExhausted,
    doc: "The node's blocks in the candidate pools are full and every other block of those pools is claimed.",
  },
  IPAM_ADDRESS_UNAVAILABLE: {
    cni: CniCode.IpamAddressUnavailable,
    doc: "A requested static address is held by another handle, is a pool's network or broadcast address, or lies in a block owned by another node.",
  },
  IPAM_NO_POOL: {
    cni: CniCode.InvalidConfig,
    doc: 'No enabled pool fits the request: no pool of the family, an unknown pool name, or a static address outside every pool.',
  },
  IPAM_INVALID_POOL: {
    cni: CniCode.InvalidArgument,
    doc: 'A pool definition is invalid (name, non-canonical CIDR, block size, overlap with another pool) or a stored pool record is damaged.',
  },
  IPAM_POOL_EXISTS: { cni: CniCode.Conflict, doc: 'A different pool with this name already exists.' },
  IPAM_POOL_IN_USE: {
    cni: CniCode.Conflict,
    doc: 'The pool cannot be deleted or re-created: it is enabled, still has allocations, or blocks of it remain.',
  },
  IPAM_CONFLICT_RETRIES_EXHAUSTED: {
    cni: CniCode.TryAgainLater,
    doc: 'Concurrent writers kept changing the same IPAM records; the bounded compare-and-swap retries ran out.',
  },
  IPAM_BLOCK_CORRUPT: { cni: CniCode.Datastore, doc: 'An IPAM block record in the datastore fails validation.' },
  IPAM_INVALID_REQUEST: {
    cni: CniCode.InvalidArgument,
    doc: 'An IPAM request is malformed: bad handle, family or address, or a node other than the IPAM instance\'s own.',
  },
});
