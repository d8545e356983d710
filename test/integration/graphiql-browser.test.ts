/**
 * GraphiQL in a real browser (headless Chromium from Debian, driven by playwright-core): the page
 * opens without errors, the Docs panel shows the schema, and a query typed into the editor runs
 * and shows data. Checks what a person opening http://localhost:8001/graphiql sees, which the
 * HTTP-level tests cannot: a depth limit once made the page open on a red error with an empty
 * Docs panel while every request test passed.
 *
 * The GraphQL server runs in this process on a free port, over an in-memory reader: the browser
 * and the server are what is under test here, storage is covered by graphql.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig } from '../../src/platform/config';
import { buildGraphqlApp } from '../../src/graphql/app';
import { encodeCursor, type EventReader, type EventRecord } from '../../src/store/hot/reader';
import { createLiveFeed } from '../../src/graphql/liveFeed';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const CHROMIUM = '/usr/bin/chromium';
const READ_KEY = 'read-key-0123456789abcdef';
const missing = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: infra/install.sh installs it (apt-get install chromium) where apt-get is available`;

const EVENT: EventRecord = {
  eventId: '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
  eventType: 'page_view',
  userId: 'browser-user-42',
  timestamp: '2026-11-25T10:00:00.000Z',
  receivedAt: '2026-11-25T10:00:00.120Z',
  payload: { page: '/pricing' },
  cursor: encodeCursor('2026-11-25T10:00:00.000Z#0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b'),
};
const reader: EventReader = {
  latest: async (limit) => [EVENT].slice(0, limit),
  byType: async (type, limit) => (type === EVENT.eventType ? [EVENT].slice(0, limit) : []),
  byUser: async (user, limit) => (user === EVENT.userId ? [EVENT].slice(0, limit) : []),
  byId: async (id) => (id === EVENT.eventId ? EVENT : null),
};

describe('GraphiQL in headless Chromium', { skip: missing, timeout: HANG_TIMEOUT_MS }, () => {
  let app: FastifyInstance;
  let url = '';
  let keyedApp: FastifyInstance;
  let keyedUrl = '';
  let profile = '';
  let browser: BrowserContext;
  const feed = createLiveFeed({ queueSize: 100, maxPerPrincipal: 10 });

  before(async () => {
    // The limits of the default configuration: what a developer's `npm start` serves.
    const config = loadConfig({});
    app = buildGraphqlApp({ reader, limits: config.graphql, shards: config.latestIndexShards });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    keyedApp = buildGraphqlApp({ reader, limits: config.graphql, shards: config.latestIndexShards, access: { readKeys: [READ_KEY] }, live: { feed } });
    await keyedApp.listen({ port: 0, host: '127.0.0.1' });
    keyedUrl = `http://127.0.0.1:${(keyedApp.server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'graphiql-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await keyedApp?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** Opens GraphiQL and records every page error, console error and failed request. */
  async function openGraphiql(base = url): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => void (msg.type() === 'error' && problems.push(`console error: ${msg.text()}`)));
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
    page.on('response', (res) => void (res.status() >= 400 && problems.push(`HTTP ${res.status()}: ${res.url()}`)));
    const res = await page.goto(`${base}/graphiql`);
    assert.equal(res?.status(), 200);
    await page.locator('.graphiql-container').waitFor({ timeout: 30_000 });
    return { page, problems };
  }

  /** Opens the Docs panel and waits for the Query type's fields. */
  async function docsShowSchema(page: Page): Promise<void> {
    await page.locator('button[aria-label*="Documentation Explorer"]').first().click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Query', { exact: true }).first().click({ timeout: 30_000 });
    for (const field of ['latestEvents', 'eventsByType', 'eventsByUser', 'event']) {
      await docs
        .locator('.graphiql-doc-explorer-field-name', { hasText: new RegExp(`^${field}$`) })
        .first()
        .waitFor({ timeout: 30_000 });
    }
    assert.equal(await page.locator('.graphiql-doc-explorer-error').count(), 0, 'no "Error fetching schema"');
  }

  /** Replaces the query editor's text with `text`, as a person typing it would. */
  async function typeIntoEditor(page: Page, text: string): Promise<void> {
    await page.locator('.graphiql-query-editor .CodeMirror').first().click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    // insertText, not type: the editor closes brackets as they are typed.
    await page.keyboard.insertText(text);
  }

  /** Puts the read key into the Headers tab, whose headers GraphiQL sends with each request. */
  async function enterReadKey(page: Page): Promise<void> {
    await page.getByText('Headers', { exact: true }).first().click();
    await page.locator('.graphiql-editor-tool .CodeMirror').last().click();
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${READ_KEY}` }));
  }

  /** Types a query into the editor, runs it and returns the response pane's text once it shows the event. */
  async function runTypedQuery(page: Page, query = `{ eventsByUser(userId: "${EVENT.userId}", limit: 5) { eventId userId payload } }`): Promise<string> {
    await typeIntoEditor(page, query);
    await page.locator('.graphiql-execute-button').click();
    const response = page.locator('.graphiql-response');
    await response.getByText(EVENT.eventId, { exact: false }).first().waitFor({ timeout: 30_000 });
    return response.innerText();
  }

  it('opens with no error, and the Docs panel shows the Query type and its fields', async () => {
    const { page, problems } = await openGraphiql();
    await docsShowSchema(page);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('runs a query typed into the editor and shows its data', async () => {
    const { page, problems } = await openGraphiql();
    const text = await runTypedQuery(page);
    assert.match(text, /"eventsByUser"/);
    assert.match(text, /\/pricing/);
    assert.doesNotMatch(text, /"errors"/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('with READ_KEYS set: the page opens, and with the key in the Headers tab Docs shows the schema and a query runs', async () => {
    const { page, problems } = await openGraphiql(keyedUrl);
    await enterReadKey(page);
    // The schema was first fetched without the key (401). Fetch it again until the request
    // carries the header: GraphiQL takes an edit after a debounce.
    await waitFor('the schema fetched with the key', async () => {
      const answered = page.waitForResponse((r) => r.url().endsWith('/graphql'), { timeout: 5_000 });
      await page.locator('button[aria-label="Re-fetch GraphQL schema"]').click();
      return (await answered).status() === 200;
    });
    problems.length = 0;
    await docsShowSchema(page);
    assert.match(await runTypedQuery(page), /\/pricing/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('runs a subscription with the key from the Headers tab and shows a stored event as it arrives', async () => {
    const { page, problems } = await openGraphiql(keyedUrl);
    await enterReadKey(page);
    problems.length = 0; // the schema fetch before the key was typed is a 401
    await typeIntoEditor(page, `subscription { eventStored(userId: "${EVENT.userId}") { eventId userId payload } }`);
    // The Headers edit is taken after a debounce: run until the subscription is open on the server.
    await waitFor(
      'the subscription open on the server',
      async () => {
        if (feed.count() === 1) return true;
        await page.locator('.graphiql-execute-button').click();
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 1_000 },
    );
    feed.publish({ ...EVENT, eventId: '0192f1c4-8d1e-7c3a-9b2f-000000000042', payload: { page: '/live' } });
    const response = page.locator('.graphiql-response');
    await response.getByText('/live', { exact: false }).first().waitFor({ timeout: 30_000 });
    assert.match(await response.innerText(), /000000000042/);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
