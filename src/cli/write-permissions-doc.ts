/** `npm run docs:permissions`: writes docs/permissions.md from the persona permission table (src/access/permissions.ts). */
import { writeFile } from 'node:fs/promises';
import { renderPermissionsDoc } from '../access/permissions';
import { projectFile } from '../config/project-files';

export const PERMISSIONS_DOC = projectFile('docs', 'permissions.md');

if (require.main === module) {
  writeFile(PERMISSIONS_DOC, renderPermissionsDoc())
    .then(() => process.stdout.write(`wrote ${PERMISSIONS_DOC}\n`))
    .catch((error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    });
}
