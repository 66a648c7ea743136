package attnc.jvm.kernel;

/**
 * Where a float input's load site sits and how its gradient is reduced before it is added: the
 * kernel package's view of a site's section and summed indices ({@link attnc.lower.LoweredBackward.Site}).
 * Score sites are reduced inside each tile as far as the site's element allows, then added in a
 * fixed order, so that no two threads add into one gradient element at once.
 */
public enum GradSite {
    /** Read at (q, kv) (a bias tensor, a bucket table): one contribution per pair, added as it comes. */
    SCORE_ELEMENT,
    /** Read per query (a per-query factor): summed over the keys, kept per row, added after the key pass. */
    SCORE_ROW,
    /** Read per key (a per-key factor): summed over the queries of its key tile's task, kept per column. */
    SCORE_COLUMN,
    /** Read per head or less (an ALiBi slope): summed over the tile, kept per (b, h, key tile). */
    SCORE_HEAD,
    /** Read by the scale, per row: upstream (q · dq) / scale. */
    SCALE,
    /** Read by the norm's value (sink logit, sigmoid bias), per row. */
    NORM,
    /** Read by the output transform, per (row, channel): upstream dOut. */
    OUTPUT;

    /** A score site, summed inside the key pass's tiles. */
    public boolean inScore() {
        return this == SCORE_ELEMENT || this == SCORE_ROW || this == SCORE_COLUMN || this == SCORE_HEAD;
    }
}
