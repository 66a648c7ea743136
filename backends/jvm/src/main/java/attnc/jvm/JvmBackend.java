package attnc.jvm;

import attnc.ir.Pattern;
import attnc.jvm.emit.GeneratedKernel;
import attnc.jvm.emit.KernelGenerator;
import attnc.run.Backend;
import attnc.run.Binding;
import attnc.run.TuningConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The CPU backend ({@code jvm}): one generated Vector API class per pattern. Tile sizes come from
 * the pattern's {@code tile:} section when it fits the kernel's blocking, else the defaults; the
 * tuner picks one of {@link #configurations} and passes it to {@link #compile(Pattern, TuningConfig)}. With
 * {@code -Dattnc.dump=DIR} every generated class is also written under DIR.
 */
public final class JvmBackend implements Backend {
    @Override public String name() { return "jvm"; }

    @Override
    public JvmKernel compile(Pattern pattern) {
        int tileQ = KernelGenerator.defaultTileQ(), tileKv = KernelGenerator.DEFAULT_TILE_KV;
        if (pattern.tile().isPresent()) {
            var t = pattern.tile().get();
            if (t.q() > 0 && t.q() % attnc.jvm.kernel.Lanes.L == 0) tileQ = t.q();
            if (t.kv() > 0 && t.kv() % 4 == 0) tileKv = t.kv();
        }
        return compile(pattern, tileQ, tileKv);
    }

    /** Query and key tile sizes, pruned for the launch's shape (see {@link TuningSpace}). */
    @Override
    public List<TuningConfig> configurations(Pattern pattern, Binding binding) { return TuningSpace.of(binding); }

    @Override
    public JvmKernel compile(Pattern pattern, TuningConfig config) {
        return compile(pattern, config.get(TuningSpace.TILE_Q, KernelGenerator.defaultTileQ()),
                config.get(TuningSpace.TILE_KV, KernelGenerator.DEFAULT_TILE_KV));
    }

    @Override public String device() { return CpuName.describe(); }

    public JvmKernel compile(Pattern pattern, int tileQ, int tileKv) {
        return new JvmKernel(pattern, generate(pattern, tileQ, tileKv), generate(pattern, attnc.jvm.kernel.Lanes.L, tileKv));
    }

    /**
     * A kernel from classes generated earlier (by {@link #generate}, e.g. at build time by the
     * Maven plugin): the main class and the narrow one (tile q = one vector) for few-query launches.
     */
    public JvmKernel load(Pattern pattern, GeneratedKernel main, GeneratedKernel narrow) {
        return new JvmKernel(pattern, main, narrow);
    }

    /** The class file for a pattern, without loading it: what the Maven plugin and export write. */
    public static GeneratedKernel generate(Pattern pattern, int tileQ, int tileKv) {
        GeneratedKernel generated = KernelGenerator.generate(pattern, tileQ, tileKv);
        String dump = System.getProperty("attnc.dump");
        if (dump != null && !dump.isBlank()) {
            try {
                generated.writeTo(Path.of(dump));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the generated class to " + dump, e);
            }
        }
        return generated;
    }
}
