import { createPostgresCapabilityStore } from '../../src/capabilities/postgresCapabilityStore';
import { postgresForTests, type PostgresFixture } from '../support/postgresForTests';
import { describeCapabilityStoreContract } from './capabilityStoreContract';

const pgs = await postgresForTests('Postgres capability store');

const stores = (make: () => Promise<PostgresFixture>) => async () => {
  const { source, peer, tablePrefix } = await make();
  return {
    store: createPostgresCapabilityStore({ ...source, tablePrefix }),
    peer: createPostgresCapabilityStore({ ...peer, tablePrefix }),
    close: () => {},
  };
};

if (pgs.server) describeCapabilityStoreContract('postgres (server, two pools)', stores(pgs.server.fresh));
describeCapabilityStoreContract('postgres (embedded PGlite, one connection)', stores(pgs.pglite.fresh));
