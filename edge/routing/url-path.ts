/**
 * The path of a request's absolute URL, read from the string without building a URL object (the
 * hot paths read it on every request): from the first `/` after the authority up to the query or
 * fragment, `/` when there is none. Not decoded: `/%67raphql` stays as it came.
 */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  let end = start;
  for (; end < url.length; end++) {
    const c = url.charCodeAt(end);
    if (c === 63 /* ? */ || c === 35 /* # */) break;
  }
  return url.slice(start, end);
}
