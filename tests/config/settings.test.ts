/**
 * Configuration is declared as data: validated at start with messages naming the variable, and rendered into
 * README's settings table (which must not go stale).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, renderSettingsTable } from '../../src/config/settings';

describe('settings', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, dataDir: './data', dbName: 'fhir', embeddedFsync: true, mongodbUri: undefined });
  });

  it('fails fast naming the variable with a bad value', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(new ConfigError("PORT must be an integer >= 0, got 'eighty'"));
    expect(() => loadConfig({ EMBEDDED_FSYNC: 'yes' })).toThrow('EMBEDDED_FSYNC must be true or false');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL must be one of');
  });

  it('keeps an emergency-access token short-lived (seed 000 2.1)', () => {
    expect(loadConfig({}).breakGlassTokenSeconds).toBe(900);
    expect(loadConfig({ BREAK_GLASS_TOKEN_SECONDS: '600' }).breakGlassTokenSeconds).toBe(600);
    expect(() => loadConfig({ BREAK_GLASS_TOKEN_SECONDS: '86400' })).toThrow(new ConfigError("BREAK_GLASS_TOKEN_SECONDS must be an integer from 10 to 14400, got '86400'"));
    expect(() => loadConfig({ BREAK_GLASS_TOKEN_SECONDS: '5' })).toThrow(new ConfigError("BREAK_GLASS_TOKEN_SECONDS must be an integer from 10 to 14400, got '5'"));
  });

  it('never echoes credentials of a malformed connection string', () => {
    expect(() => loadConfig({ MONGODB_URI: 'not a url with user:secret@' })).toThrow(new ConfigError('MONGODB_URI must be a valid URL'));
  });

  it('is documented in README exactly as declared', () => {
    const readme = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    expect(readme).toContain(renderSettingsTable());
  });
});
