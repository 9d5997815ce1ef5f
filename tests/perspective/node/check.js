'use strict';
// The npm perspective-api-client, unchanged: only its HTTPS calls to Google are sent to the
// server under test (PERSPECTIVE_URL), through an interceptor on the axios instance it uses.
const assert = require('node:assert/strict');
const path = require('node:path');

const clientDir = path.dirname(require.resolve('perspective-api-client'));
const axios = require(require.resolve('axios', {paths: [clientDir]}));
const Perspective = require('perspective-api-client');

const GOOGLE = 'https://commentanalyzer.googleapis.com/';
const server = process.env.PERSPECTIVE_URL.replace(/\/?$/, '/');
const seen = [];
axios.interceptors.request.use(config => {
  assert.ok(config.url.startsWith(GOOGLE), config.url);
  config.url = server + config.url.slice(GOOGLE.length);
  seen.push(config.data); // the request body, before axios serialises it
  return config;
});

async function main() {
  const perspective = new Perspective({apiKey: process.env.PERSPECTIVE_KEY});

  const plain = await perspective.analyze('The library funding is good news.');
  const score = plain.attributeScores.TOXICITY.summaryScore;
  assert.equal(score.type, 'PROBABILITY');
  assert.ok(score.value >= 0 && score.value < 0.5, JSON.stringify(plain));

  const rude = await perspective.analyze('<b>You are a fucking idiot</b>', {attributes: ['toxicity']});
  assert.ok(rude.attributeScores.TOXICITY.summaryScore.value > 0.5, JSON.stringify(rude));

  const kept = await perspective.analyze('Fine by me.', {doNotStore: false});
  assert.ok(kept.attributeScores.TOXICITY);
  assert.equal(seen.at(-1).doNotStore, false);
  await perspective.analyze(process.env.PRIVATE_TEXT, {doNotStore: true});
  assert.equal(seen.at(-1).doNotStore, true);

  const full = await perspective.analyze({
    comment: {text: 'One sentence. Another one.'},
    requestedAttributes: {TOXICITY: {}},
    spanAnnotations: true,
    clientToken: 'node',
  });
  assert.equal(full.clientToken, 'node');
  assert.equal(full.attributeScores.TOXICITY.spanScores.length, 2);

  await assert.rejects(perspective.analyze('hi', {attributes: ['sexually_explicit']}), error => {
    assert.equal(error.name, 'ResponseError');
    assert.equal(error.response.status, 400);
    assert.match(error.message, /SEXUALLY_EXPLICIT/);
    return true;
  });
  const stranger = new Perspective({apiKey: 'mk_not-a-key'});
  await assert.rejects(stranger.analyze('hi'), error => error.response.status === 401);
  console.log(`ok: ${seen.length} requests`);
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
