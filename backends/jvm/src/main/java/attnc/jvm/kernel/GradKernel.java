package attnc.jvm.kernel;

/**
 * The entry points of a generated backward class (a copy of {@link BackwardTemplate} with the
 * pattern's hooks). {@link GradDriver} schedules the calls; the class does the arithmetic.
 */
public interface GradKernel {
    /** Queries per tile (whole vectors). */
    int tileQ();

    /** Keys per tile (a multiple of 4). */
    int tileKv();

    /** Per row of one query tile: scaled q, dO, Δ and the norm's lane values (transposed copies too). */
    void prepareRows(GradLaunch launch, int b, int h, int qTile);

    /** The key pass's task: one key tile of one (b, kv head) against every query tile that sees it. */
    void keyTile(GradLaunch launch, GradScratch scratch, int task, int b, int kvHead, int kvTile);

    /** Per row of one query tile, after the key pass: dq and the scale's upstream gradient. */
    void finishRows(GradLaunch launch, int b, int h, int qTile);

    /** On one thread, in a fixed order: every input gradient kept per row, column or head, and those of the scale, norm and output. */
    void addInputGradients(GradLaunch launch);
}
