import { z } from 'zod';
import { validateAssetUri } from '../../core/assets.js';
import { TrainyardError } from '../../core/errors.js';
import { ApiError } from '../errors.js';
import { route } from '../route.js';

const AssetEventBody = z.strictObject({
  uri: z.string().describe('the asset that changed, e.g. s3://bucket/features/daily'),
  extra: z.record(z.string(), z.unknown()).optional().describe('anything the consumers should know'),
});

const AssetEventAccepted = z.object({ uri: z.string(), at: z.string() });

/** External systems tell Trainyard that an asset changed; asset-scheduled DAGs react. */
export const assetRoutes = [
  route({
    method: 'post',
    path: '/assets/events',
    tag: 'Assets',
    summary: 'Record an asset event (an asset was updated outside Trainyard)',
    body: AssetEventBody,
    response: AssetEventAccepted,
    status: 201,
    handler: async ({ deps, body, now }) => {
      try {
        validateAssetUri(body.uri, 'uri');
      } catch (e) {
        if (e instanceof TrainyardError) throw new ApiError(400, 'INVALID_ASSET_URI', e.message);
        throw e;
      }
      await deps.store.insertAssetEvents([{ uri: body.uri, source: 'api', extra: body.extra ?? {}, at: now }]);
      deps.scheduler?.notify();
      return { uri: body.uri, at: new Date(now).toISOString() };
    },
  }),
];
