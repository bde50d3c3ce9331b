/** The part of autocannon's API the bench uses (the package ships no types). */
declare module 'autocannon' {
  /** Options of one autocannon run. */
  export type AutocannonOptions = {
    url: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    /** Load generation in this many worker threads (off the server's event loop). */
    workers?: number;
  };
  /** Summary statistics of one measured quantity. */
  export type AutocannonStats = { average: number; p50: number; p99: number; total: number };
  /** The result of one run. */
  export type AutocannonResult = {
    requests: AutocannonStats;
    latency: AutocannonStats;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
    duration: number;
  };
  export default function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
}
