/** `npm run sdk:generate`: writes sdk/openapi.json and src/sdk/api-types.ts from the routes. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../dev/cluster/config.js';
import { formatDocument, generateOpenApiDocument, generateSdkTypes } from '../src/sdk/generate.js';

const doc = await generateOpenApiDocument();
await writeFile(join(repoRoot, 'sdk', 'openapi.json'), formatDocument(doc));
await writeFile(join(repoRoot, 'src', 'sdk', 'api-types.ts'), await generateSdkTypes(doc));
console.log(`wrote sdk/openapi.json (${Object.keys(doc.paths as object).length} paths) and src/sdk/api-types.ts`);
