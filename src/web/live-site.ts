/**
 * The site as the working tree is now, for the app: built (admin audience, no PDFs, base /site/)
 * into .cache/web/site/ when the app starts and again after every change it makes. A change
 * during a build queues one more build, never two at once; a failed build keeps the last good
 * site and says why.
 */
import { join } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { withDatabase } from '../db/duckdb.ts';
import { buildSite } from '../site/build.ts';

export interface SiteStatus {
  /** Whether the app builds a site at all (not with `web --no-live-site`). */
  enabled: boolean;
  building: boolean;
  built_at: string | null;
  error: string | null;
}

export class LiveSite {
  readonly dir: string;
  private running: Promise<void> | null = null;
  private again = false;
  private builtAt: string | null = null;
  error: string | null = null;

  constructor(
    private readonly root: string,
    private readonly say: (text: string) => void,
    /** Off: the app serves its own pages only (`web --no-live-site`). */
    private readonly enabled = true,
  ) {
    this.dir = join(root, '.cache', 'web', 'site');
  }

  status(): SiteStatus {
    return { enabled: this.enabled, building: this.running !== null, built_at: this.builtAt, error: this.error };
  }

  /** Builds now, or once more after the build under way. */
  rebuild(): void {
    if (!this.enabled) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.build().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.rebuild();
      }
    });
  }

  /** Resolves when no build is running or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async build(): Promise<void> {
    try {
      const config = await loadConfig(this.root);
      const live = { ...config, site: { ...config.site, base_path: '/site/' } };
      await withDatabase((db) =>
        buildSite(db, live, { root: this.root, out: this.dir, pdf: false, audience: 'admin', progress: () => {} }),
      );
      this.builtAt = new Date().toISOString();
      this.error = null;
    } catch (e) {
      this.error = (e as Error).message;
      this.say(`The live site did not build: ${this.error}`);
    }
  }
}
