// A server component: rendered on the server for every request (it reads the query), with the
// client component below rendered there too (server-side rendering) and hydrated in the browser.
import { Assistant } from "../components/Assistant";

export default async function Page({ searchParams }: { searchParams: Promise<{ whip?: string }> }) {
  const { whip } = await searchParams;
  return <Assistant url={whip ?? "/whip"} />;
}
