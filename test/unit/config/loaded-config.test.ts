import { expect } from 'chai';
import { isLoadedConfig, loadConfig } from '../../../src/config/index.js';
import { isLoadedConfig as fromModule } from '../../../src/config/frozen-config.js';

describe('isLoadedConfig', () => {
  const config = loadConfig({ PGPASSWORD: 'pw' });

  it('is true for a configuration returned by loadConfig', () => {
    expect(isLoadedConfig(config)).to.equal(true);
    expect(isLoadedConfig(loadConfig({}, { host: 'db.internal', maxConns: 3 }))).to.equal(true);
    expect(fromModule).to.equal(isLoadedConfig);
  });

  it('is false for a spread copy, which has lost the password', () => {
    const copy = { ...config, maxConns: 20 };
    expect(copy).to.not.have.property('password');
    expect(isLoadedConfig(copy)).to.equal(false);
    expect(isLoadedConfig({ ...config })).to.equal(false);
    expect(isLoadedConfig(JSON.parse(JSON.stringify(config)))).to.equal(false);
  });

  it('is false for a plain object with every field, password included', () => {
    expect(isLoadedConfig({ ...config, password: 'pw' })).to.equal(false);
    expect(isLoadedConfig(Object.freeze({ ...config, password: 'pw' }))).to.equal(false);
  });

  it('is false for objects derived from a loaded configuration', () => {
    expect(isLoadedConfig(Object.create(config))).to.equal(false);
    expect(isLoadedConfig(new Proxy(config, {}))).to.equal(false);
  });

  it('is false for anything else', () => {
    for (const value of [undefined, null, 0, '', 'postgres://h/db', String(config), {}, [], () => config]) {
      expect(isLoadedConfig(value), String(value)).to.equal(false);
    }
  });
});
