package attnc.jvm.kernel;

import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * Schedules a launch over a {@link Pool}. Work items are (b, h, query tile), handed out
 * dynamically from the last query tile down, so the long rows of a causal mask start first and
 * the short ones fill the gaps. When there are too few items to keep every thread busy (decode: a
 * few queries against a long KV cache) the keys are split too; each split leaves an unnormalised
 * partial (max, sum, output) and a second pass merges them with the LSE rule
 * o = Σ o_s·e^(m_s − M), l = Σ l_s·e^(m_s − M). The calling thread works alongside the pool and
 * waits only for items other threads have taken, never for a helper task to start, so concurrent
 * launches always make progress, even on an executor that is busy with the callers themselves.
 */
public final class Driver {
    /**
     * Where a launch's work runs: {@code parallelism} threads at most, the caller's included, with
     * helpers submitted to {@code executor}. An executor that runs tasks on the submitting thread
     * ({@code Runnable::run}) works too: everything then runs on the caller.
     */
    public record Pool(Executor executor, int parallelism) {
        public Pool {
            Objects.requireNonNull(executor, "executor");
            if (parallelism < 1) throw new IllegalArgumentException("parallelism must be at least 1, got " + parallelism);
        }

        /**
         * The pool kernels share unless given another: daemon threads, as many workers as
         * {@code -Dattnc.threads} says, else one per available processor.
         */
        public static Pool shared() {
            if (Shared.POOL == null) throw new IllegalArgumentException(Shared.PROBLEM);
            return Shared.POOL;
        }
    }

    /** Created on first use, so a program that passes its own executor starts no threads. */
    private static final class Shared {
        static final String PROBLEM;
        static final Pool POOL;

        static {
            String configured = System.getProperty("attnc.threads");
            int threads = Runtime.getRuntime().availableProcessors();
            if (configured != null && !configured.isBlank()) {
                try {
                    threads = Integer.parseInt(configured.trim());
                } catch (NumberFormatException e) {
                    threads = 0;
                }
            }
            if (threads < 1) {
                // Said at every launch, not as an ExceptionInInitializerError once and NoClassDefFoundError after.
                PROBLEM = "-Dattnc.threads=" + configured + ": expected a whole number of threads, at least 1";
                POOL = null;
            } else {
                PROBLEM = null;
                ExecutorService helpers = Executors.newFixedThreadPool(Math.max(1, threads - 1), r -> {
                    Thread t = new Thread(r, "attnc-jvm-kernel");
                    t.setDaemon(true);
                    return t;
                });
                POOL = new Pool(helpers, threads);
            }
        }
    }

    private Driver() {}

    public static void run(TileKernel kernel, Launch launch, Pool pool) {
        int bq = kernel.tileQ(), bk = kernel.tileKv();
        int threads = pool.parallelism();
        int heads = launch.batch() * launch.heads();
        int qTiles = (launch.nq() + bq - 1) / bq;
        int kvTiles = (launch.nkv() + bk - 1) / bk;
        int items = heads * qTiles;
        if (items == 0) return;
        int splits = items >= 2 * threads || kvTiles < 2 ? 1 : Math.min(kvTiles, (4 * threads + items - 1) / items);
        if (splits == 1) {
            parallelFor(pool, items, i -> {
                int bh = i % heads, q0 = (qTiles - 1 - i / heads) * bq;
                Scratch scratch = Scratch.mine();
                kernel.accumulate(launch, scratch, bh / launch.heads(), bh % launch.heads(), q0, 0, launch.nkv());
                kernel.finish(launch, scratch, bh / launch.heads(), bh % launch.heads(), q0);
            });
            return;
        }
        Partials partials = new Partials(items * splits, bq, launch.valueStride());
        parallelFor(pool, items * splits, i -> {
            int item = i / splits, split = i % splits;
            int bh = item % heads, q0 = (qTiles - 1 - item / heads) * bq;
            int kvFrom = split * kvTiles / splits * bk, kvTo = Math.min(launch.nkv(), (split + 1) * kvTiles / splits * bk);
            Scratch scratch = Scratch.mine();
            kernel.accumulate(launch, scratch, bh / launch.heads(), bh % launch.heads(), q0, kvFrom, kvTo);
            partials.save(i, scratch);
        });
        parallelFor(pool, items, item -> {
            int bh = item % heads, q0 = (qTiles - 1 - item / heads) * bq;
            Scratch scratch = Scratch.mine().ensure(bq, bk, launch.headDim(), launch.valueStride());
            partials.merge(item * splits, splits, scratch, kernel.normalisation().hasRowSum());
            kernel.finish(launch, scratch, bh / launch.heads(), bh % launch.heads(), q0);
        });
    }

    /** Runs body(0 .. n-1) on the pool and the calling thread; rethrows the first failure. */
    static void parallelFor(Pool pool, int n, IntConsumer body) {
        new Loop(n, body).run(pool);
    }

    /**
     * One parallel loop. A worker registers itself before it takes an item and deregisters when it
     * finds none left, so once the caller has run out of items it need only wait until no worker is
     * registered: a helper that starts later finds nothing to do and never touches the launch.
     */
    private static final class Loop implements Runnable {
        private final int n;
        private final IntConsumer body;
        private final AtomicInteger next = new AtomicInteger();
        private int working;
        private Throwable failure;

        Loop(int n, IntConsumer body) {
            this.n = n;
            this.body = body;
        }

        void run(Pool pool) {
            for (int t = 0; t < Math.min(pool.parallelism() - 1, n - 1); t++) {
                try {
                    pool.executor().execute(this);
                } catch (RejectedExecutionException e) {
                    break;
                }
            }
            run();
            synchronized (this) {
                boolean interrupted = false;
                while (working > 0) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                if (interrupted) Thread.currentThread().interrupt();
                if (failure instanceof RuntimeException e) throw e;
                if (failure instanceof Error e) throw e;
            }
        }

        @Override
        public void run() {
            synchronized (this) {
                working++;
            }
            try {
                for (int i; (i = next.getAndIncrement()) < n; ) body.accept(i);
            } catch (RuntimeException | Error e) {
                next.set(n);
                synchronized (this) {
                    if (failure == null) failure = e;
                }
            } finally {
                synchronized (this) {
                    if (--working == 0) notifyAll();
                }
            }
        }
    }

    /** Per split of a query tile: running max, sum and unnormalised output rows. O(splits · tile). */
    private static final class Partials {
        private final int rows, stride;
        private final float[] m, l, o;

        Partials(int parts, int rows, int stride) {
            this.rows = rows;
            this.stride = stride;
            m = new float[parts * rows];
            l = new float[parts * rows];
            o = new float[parts * rows * stride];
        }

        void save(int part, Scratch s) {
            System.arraycopy(s.m, 0, m, part * rows, rows);
            System.arraycopy(s.l, 0, l, part * rows, rows);
            System.arraycopy(s.o, 0, o, part * rows * stride, rows * stride);
        }

        /** Combines parts [first, first + count) into the scratch's m, l, o. */
        void merge(int first, int count, Scratch s, boolean softmax) {
            for (int r = 0; r < rows; r++) {
                float top = Float.NEGATIVE_INFINITY;
                for (int p = first; p < first + count; p++) top = Math.max(top, m[p * rows + r]);
                float sum = 0f;
                java.util.Arrays.fill(s.o, r * stride, (r + 1) * stride, 0f);
                if (softmax && top == Float.NEGATIVE_INFINITY) {
                    s.m[r] = top;
                    s.l[r] = 0f;
                    continue;
                }
                for (int p = first; p < first + count; p++) {
                    float w = softmax ? (float) Math.exp(m[p * rows + r] - top) : 1f;
                    sum += l[p * rows + r] * w;
                    int from = (p * rows + r) * stride;
                    for (int c = 0; c < stride; c++) s.o[r * stride + c] += o[from + c] * w;
                }
                s.m[r] = softmax ? top : 0f;
                s.l[r] = sum;
            }
        }
    }
}
