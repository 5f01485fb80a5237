// Calls to the server's JSON routes. Errors come back as {"error": "..."} with a 4xx/5xx
// status (lib/serve/http-errors.ts); ApiError carries both so the page can show the message.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export async function api(path, { method = 'GET', body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(`cannot reach the server (${e.message})`, 0);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (!response.ok) {
    const message = json && typeof json.error === 'string' ? json.error : `${response.status} ${response.statusText}`;
    throw new ApiError(message, response.status);
  }
  return json;
}

export const modelPath = (name, version) =>
  `/v1/models/${encodeURIComponent(name)}${version && version !== 'default' ? `/versions/${encodeURIComponent(version)}` : ''}`;
