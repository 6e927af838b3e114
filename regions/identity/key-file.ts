/** Where the development issuer keeps its signing key: shared by both local regions. */
import path from 'node:path';
import { STACK_DIR } from '../../infra/stack/paths.ts';

export const DEV_ISSUER_KEY_FILE = path.join(STACK_DIR, 'identity', 'dev-issuer.jwk.json');
