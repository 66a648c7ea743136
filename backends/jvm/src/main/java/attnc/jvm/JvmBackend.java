package attnc.jvm;

import attnc.ir.Pattern;
import attnc.jvm.emit.GeneratedKernel;
import attnc.jvm.emit.KernelGenerator;
import attnc.jvm.emit.Slots;
import attnc.jvm.emit.Tiling;
import attnc.jvm.kernel.KernelLoader;
import attnc.jvm.kernel.Lanes;
import attnc.jvm.kernel.TileKernel;
import attnc.launch.Binding;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The CPU backend ({@code jvm}): one generated Vector API class per pattern. Tile sizes come from
 * the pattern's {@code tile:} section when it fits the kernel's blocking, else the defaults; the
 * tuner picks one of {@link #configurations} and passes it to {@link #compile(Pattern, TuningConfig)}.
 * With {@code -Dattnc.dump=DIR} every generated class is also written under DIR.
 */
public final class JvmBackend implements Backend {
    @Override public String name() { return "jvm"; }

    @Override public boolean hasBackward() { return true; }

    @Override
    public JvmKernel compile(Pattern pattern) { return compile(pattern, Tiling.of(pattern)); }

    /**
     * Query and key tile sizes, pruned for the launch's shape (see {@link TuningSpace}); only the
     * pattern's own when it has a {@code tile:} section.
     */
    @Override
    public List<TuningConfig> configurations(Pattern pattern, Binding binding) {
        return pattern.tile().isPresent() ? List.of(TuningSpace.knobs(Tiling.of(pattern))) : TuningSpace.of(binding);
    }

    @Override
    public Optional<TuningConfig> defaultConfiguration(Pattern pattern, Binding binding) {
        return Optional.of(TuningSpace.knobs(Tiling.of(pattern)));
    }

    @Override
    public JvmKernel compile(Pattern pattern, TuningConfig config) {
        Tiling standard = Tiling.of(pattern);
        return compile(pattern, new Tiling(config.get(TuningSpace.TILE_Q, standard.q()), config.get(TuningSpace.TILE_KV, standard.kv())));
    }

    @Override
    public Optional<String> plan(Pattern pattern, Binding binding) {
        return Optional.of("tiles " + Tiling.of(pattern) + (pattern.tile().isPresent() ? " (the pattern's tile: section)" : " (default)")
                + "; launches of at most " + Lanes.L + " queries run " + Tiling.of(pattern).narrow());
    }

    @Override public String device() { return CpuName.describe(); }

    public JvmKernel compile(Pattern pattern, Tiling tiling) {
        LoweredPattern lowered = LowerPattern.lower(pattern);
        GeneratedKernel main = generate(lowered, tiling), narrow = generate(lowered, tiling.narrow());
        return new JvmKernel(lowered, main.slots(), KernelLoader.load(main.bytes()), KernelLoader.load(narrow.bytes()));
    }

    /**
     * The default kernel's class files by path ({@code attnc/jvm/kernel/Flash_....class}: the main
     * class and the narrow one for few-query launches) and a {@code kernel.json} describing them;
     * {@link #load} turns them back into a kernel.
     */
    @Override
    public Map<String, byte[]> export(Pattern pattern) {
        Tiling tiling = Tiling.of(pattern);
        LoweredPattern lowered = LowerPattern.lower(pattern);
        GeneratedKernel main = generate(lowered, tiling), narrow = generate(lowered, tiling.narrow());
        return Map.of(path(main), main.bytes(), path(narrow), narrow.bytes(), ExportDescription.FILE,
                ExportDescription.json(pattern, main.className(), tiling.q(), narrow.className(), tiling.narrow().q(), tiling.kv()));
    }

    /**
     * A kernel from the files {@link #export} wrote (e.g. class-path resources of the Maven
     * plugin), defined as hidden classes like freshly generated ones; empty when a file is missing
     * or they were exported from another pattern, another attnc version's layout or a CPU with
     * other vector lanes (the caller then compiles).
     */
    @Override
    public Optional<Kernel> load(Pattern pattern, Map<String, byte[]> exported) {
        var classes = ExportDescription.classes(pattern, exported.get(ExportDescription.FILE));
        if (classes.isEmpty()) return Optional.empty();
        byte[] main = exported.get(classes.get().main().replace('.', '/') + ".class");
        byte[] narrow = exported.get(classes.get().narrow().replace('.', '/') + ".class");
        if (main == null || narrow == null) return Optional.empty();
        return Optional.of(new JvmKernel(LowerPattern.lower(pattern), new Slots(pattern), KernelLoader.load(main), KernelLoader.load(narrow)));
    }

    /**
     * A kernel from classes generated earlier ({@link #export}, the Maven plugin), found through
     * {@code loader}: the main class and the narrow one (tile q = one vector). {@code pattern} must
     * be the optimised pattern they were generated from; its inputs and params fix the launch slots.
     */
    public JvmKernel load(Pattern pattern, ClassLoader loader, String mainClass, String narrowClass) {
        return new JvmKernel(LowerPattern.lower(pattern), new Slots(pattern), instantiate(loader, mainClass), instantiate(loader, narrowClass));
    }

    private static TileKernel instantiate(ClassLoader loader, String className) {
        TileKernel kernel;
        try {
            kernel = (TileKernel) Class.forName(className, true, loader).getConstructor().newInstance();
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalArgumentException("cannot load the generated kernel class " + className + ": " + e, e);
        }
        if (kernel.tileQ() % Lanes.L != 0) {
            throw new IllegalArgumentException(className + " has tile q " + kernel.tileQ() + ", not a multiple of this CPU's "
                    + Lanes.L + " float lanes; export it again on a machine like this one");
        }
        return kernel;
    }

    private static String path(GeneratedKernel kernel) { return kernel.className().replace('.', '/') + ".class"; }

    /** The class file for a pattern, without loading it (also written under -Dattnc.dump). */
    static GeneratedKernel generate(LoweredPattern pattern, Tiling tiling) {
        GeneratedKernel generated = KernelGenerator.generate(pattern, tiling);
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
