// Fills a technique page with what the running server really does: a transcript of one
// real exchange (recorded by the server against itself, GET /api/transcripts/<id>) and
// the source of the very client module the side-by-side panel runs.
const technique = document.body.dataset.technique ?? '';

async function showTranscript() {
  const request = /** @type {HTMLElement} */ (document.getElementById('transcript-request'));
  const response = /** @type {HTMLElement} */ (document.getElementById('transcript-response'));
  const note = /** @type {HTMLElement} */ (document.getElementById('transcript-note'));
  note.textContent = 'recording…';
  try {
    const answer = await fetch(`/api/transcripts/${technique}`, { cache: 'no-store' });
    const transcript = await answer.json();
    if (!answer.ok) throw new Error(transcript.message);
    request.textContent = transcript.request;
    response.textContent = transcript.response || '(nothing yet: the server is holding the request)';
    note.textContent = `recorded just now from this server: ${transcript.responseBytes} bytes came back in 0.7 s`;
  } catch (error) {
    note.textContent = `could not record a transcript: ${/** @type {Error} */ (error).message}`;
  }
}

async function showClientCode() {
  const code = /** @type {HTMLElement} */ (document.getElementById('client-code'));
  const response = await fetch(`/clients/${technique}.js`);
  code.textContent = await response.text();
}

document.getElementById('record-again')?.addEventListener('click', showTranscript);
showTranscript();
showClientCode().catch(() => undefined);
