;; SIMD matrix multiplies for the engine's float32 fast path (WebAssembly 128-bit SIMD).
;;
;; The plain TypeScript kernels in ../kernels.ts are the reference; these compute the same sums in
;; float32 (in a different order, so results agree to float rounding). Every pointer is a byte
;; address in the imported memory; every stride (ld*, sa*) counts floats. build.mjs assembles this
;; text twice with wabt: once importing a shared memory (so worker threads can run on the same
;; buffers, and growing it never detaches a view) and once with an ordinary memory (browsers without
;; cross-origin isolation). The line marked MEMORY is the one it rewrites.
;;
;; gemm_nn: C (M, N) (+)= A (M, K) · B (K, N). A(i, k) lies at a + 4*(i*sai + k*sak), so the same
;;          code serves A itself (sai = lda, sak = 1) and A stored transposed (sai = 1, sak = lda).
;;          B and C are row-major. Tiles of 4 rows x 8 columns keep 8 accumulators in registers;
;;          the loop runs over K in blocks so a tile's rows of B stay in the first-level cache.
;; gemm_nt: C (M, N) (+)= A (M, K) · B^T, B stored (N, K): every entry a dot product of two
;;          contiguous rows, vectorized along K, in tiles of 2 rows x 4 columns; K % 4 leftovers are
;;          added with scalar arithmetic.

(module
  (import "env" "memory" (memory 1 65536 shared)) ;; MEMORY

  ;; ---------------------------------------------------------------------------------------------
  ;; gemm_nn
  (func $gemm_nn (export "gemm_nn")
    (param $c i32) (param $ldc i32) (param $a i32) (param $sai i32) (param $sak i32)
    (param $b i32) (param $ldb i32) (param $M i32) (param $N i32) (param $K i32) (param $acc i32)
    (local $k0 i32) (local $kk i32) (local $accb i32)
    ;; K in blocks of 256: each block adds its part into C.
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_s (local.get $k0) (local.get $K)))
        (local.set $kk (i32.sub (local.get $K) (local.get $k0)))
        (if (i32.gt_s (local.get $kk) (i32.const 256)) (then (local.set $kk (i32.const 256))))
        (local.set $accb (i32.or (local.get $acc) (i32.gt_s (local.get $k0) (i32.const 0))))
        (call $nn_block
          (local.get $c) (local.get $ldc)
          (i32.add (local.get $a) (i32.shl (i32.mul (local.get $k0) (local.get $sak)) (i32.const 2)))
          (local.get $sai) (local.get $sak)
          (i32.add (local.get $b) (i32.shl (i32.mul (local.get $k0) (local.get $ldb)) (i32.const 2)))
          (local.get $ldb) (local.get $M) (local.get $N) (local.get $kk) (local.get $accb))
        (local.set $k0 (i32.add (local.get $k0) (i32.const 256)))
        (br $blocks)))
    ;; K = 0: C = 0 unless accumulating.
    (if (i32.and (i32.eqz (local.get $K)) (i32.eqz (local.get $acc)))
      (then (call $zero (local.get $c) (local.get $ldc) (local.get $M) (local.get $N)))))

  (func $zero (param $c i32) (param $ldc i32) (param $M i32) (param $N i32)
    (local $i i32) (local $j i32) (local $row i32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $M)))
        (local.set $row (i32.add (local.get $c) (i32.shl (i32.mul (local.get $i) (local.get $ldc)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j) (local.get $N)))
            (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; One block of K (1 <= K <= 256).
  (func $nn_block
    (param $c i32) (param $ldc i32) (param $a i32) (param $sai i32) (param $sak i32)
    (param $b i32) (param $ldb i32) (param $M i32) (param $N i32) (param $K i32) (param $acc i32)
    (local $j0 i32) (local $i0 i32) (local $N8 i32) (local $M4 i32)
    (local $sai4 i32)
    (local.set $sai4 (i32.shl (local.get $sai) (i32.const 2)))
    (local.set $N8 (i32.and (local.get $N) (i32.const -8)))
    (local.set $M4 (i32.and (local.get $M) (i32.const -4)))
    ;; Columns in panels of 8.
    (block $panels_done
      (loop $panels
        (br_if $panels_done (i32.ge_s (local.get $j0) (local.get $N8)))
        (local.set $i0 (i32.const 0))
        (block $tiles_done
          (loop $tiles
            (br_if $tiles_done (i32.ge_s (local.get $i0) (local.get $M4)))
            (call $nn_4x8
              (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $ldc)) (local.get $j0)) (i32.const 2)))
              (local.get $ldc)
              (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $sai4)))
              (local.get $sai4) (i32.shl (local.get $sak) (i32.const 2))
              (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2)))
              (i32.shl (local.get $ldb) (i32.const 2)) (local.get $K) (local.get $acc))
            (local.set $i0 (i32.add (local.get $i0) (i32.const 4)))
            (br $tiles)))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_s (local.get $i0) (local.get $M)))
            (call $nn_1x8
              (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $ldc)) (local.get $j0)) (i32.const 2)))
              (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $sai4)))
              (i32.shl (local.get $sak) (i32.const 2))
              (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2)))
              (i32.shl (local.get $ldb) (i32.const 2)) (local.get $K) (local.get $acc))
            (local.set $i0 (i32.add (local.get $i0) (i32.const 1)))
            (br $rows)))
        (local.set $j0 (i32.add (local.get $j0) (i32.const 8)))
        (br $panels)))
    ;; The last N % 8 columns, one row at a time: 4 at once if there are 4, then one by one.
    (local.set $i0 (i32.const 0))
    (block $rest_done
      (loop $rest
        (br_if $rest_done (i32.ge_s (local.get $i0) (local.get $M)))
        (local.set $j0 (local.get $N8))
        (if (i32.le_s (i32.add (local.get $j0) (i32.const 4)) (local.get $N))
          (then
            (call $nn_1x4
              (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $ldc)) (local.get $j0)) (i32.const 2)))
              (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $sai4)))
              (i32.shl (local.get $sak) (i32.const 2))
              (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2)))
              (i32.shl (local.get $ldb) (i32.const 2)) (local.get $K) (local.get $acc))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 4)))))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j0) (local.get $N)))
            (call $nn_1x1
              (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $ldc)) (local.get $j0)) (i32.const 2)))
              (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $sai4)))
              (i32.shl (local.get $sak) (i32.const 2))
              (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2)))
              (i32.shl (local.get $ldb) (i32.const 2)) (local.get $K) (local.get $acc))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 1)))
            (br $cols)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 1)))
        (br $rest))))

  ;; 4 rows x 8 columns. c: C(0, 0); pa: A(0, 0); pb: B(0, 0); strides in bytes.
  (func $nn_4x8
    (param $c i32) (param $ldc i32) (param $pa i32) (param $sai4 i32) (param $sak4 i32)
    (param $pb i32) (param $ldb4 i32) (param $K i32) (param $acc i32)
    (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $ldc4 i32)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $r00 v128) (local $r01 v128) (local $r10 v128) (local $r11 v128)
    (local $r20 v128) (local $r21 v128) (local $r30 v128) (local $r31 v128)
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $c0 (local.get $c))
    (local.set $c1 (i32.add (local.get $c0) (local.get $ldc4)))
    (local.set $c2 (i32.add (local.get $c1) (local.get $ldc4)))
    (local.set $c3 (i32.add (local.get $c2) (local.get $ldc4)))
    (if (local.get $acc)
      (then
        (local.set $r00 (v128.load (local.get $c0))) (local.set $r01 (v128.load offset=16 (local.get $c0)))
        (local.set $r10 (v128.load (local.get $c1))) (local.set $r11 (v128.load offset=16 (local.get $c1)))
        (local.set $r20 (v128.load (local.get $c2))) (local.set $r21 (v128.load offset=16 (local.get $c2)))
        (local.set $r30 (v128.load (local.get $c3))) (local.set $r31 (v128.load offset=16 (local.get $c3)))))
    (local.set $pa1 (i32.add (local.get $pa) (local.get $sai4)))
    (local.set $pa2 (i32.add (local.get $pa1) (local.get $sai4)))
    (local.set $pa3 (i32.add (local.get $pa2) (local.get $sai4)))
    (loop $k
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $x (v128.load32_splat (local.get $pa)))
      (FMA $r00 $x $b0) (FMA $r01 $x $b1)
      (local.set $x (v128.load32_splat (local.get $pa1)))
      (FMA $r10 $x $b0) (FMA $r11 $x $b1)
      (local.set $x (v128.load32_splat (local.get $pa2)))
      (FMA $r20 $x $b0) (FMA $r21 $x $b1)
      (local.set $x (v128.load32_splat (local.get $pa3)))
      (FMA $r30 $x $b0) (FMA $r31 $x $b1)
      (local.set $pa (i32.add (local.get $pa) (local.get $sak4)))
      (local.set $pa1 (i32.add (local.get $pa1) (local.get $sak4)))
      (local.set $pa2 (i32.add (local.get $pa2) (local.get $sak4)))
      (local.set $pa3 (i32.add (local.get $pa3) (local.get $sak4)))
      (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
      (local.set $K (i32.sub (local.get $K) (i32.const 1)))
      (br_if $k (local.get $K)))
    (v128.store (local.get $c0) (local.get $r00)) (v128.store offset=16 (local.get $c0) (local.get $r01))
    (v128.store (local.get $c1) (local.get $r10)) (v128.store offset=16 (local.get $c1) (local.get $r11))
    (v128.store (local.get $c2) (local.get $r20)) (v128.store offset=16 (local.get $c2) (local.get $r21))
    (v128.store (local.get $c3) (local.get $r30)) (v128.store offset=16 (local.get $c3) (local.get $r31)))

  ;; 1 row x 8 columns.
  (func $nn_1x8
    (param $c i32) (param $pa i32) (param $sak4 i32) (param $pb i32) (param $ldb4 i32) (param $K i32) (param $acc i32)
    (local $x v128) (local $r0 v128) (local $r1 v128) (local $b0 v128) (local $b1 v128)
    (if (local.get $acc)
      (then (local.set $r0 (v128.load (local.get $c))) (local.set $r1 (v128.load offset=16 (local.get $c)))))
    (loop $k
      (local.set $x (v128.load32_splat (local.get $pa)))
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (FMA $r0 $x $b0) (FMA $r1 $x $b1)
      (local.set $pa (i32.add (local.get $pa) (local.get $sak4)))
      (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
      (local.set $K (i32.sub (local.get $K) (i32.const 1)))
      (br_if $k (local.get $K)))
    (v128.store (local.get $c) (local.get $r0))
    (v128.store offset=16 (local.get $c) (local.get $r1)))

  ;; 1 row x 4 columns.
  (func $nn_1x4
    (param $c i32) (param $pa i32) (param $sak4 i32) (param $pb i32) (param $ldb4 i32) (param $K i32) (param $acc i32)
    (local $r0 v128) (local $x v128) (local $b0 v128)
    (if (local.get $acc) (then (local.set $r0 (v128.load (local.get $c)))))
    (loop $k
      (local.set $x (v128.load32_splat (local.get $pa)))
      (local.set $b0 (v128.load (local.get $pb)))
      (FMA $r0 $x $b0)
      (local.set $pa (i32.add (local.get $pa) (local.get $sak4)))
      (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
      (local.set $K (i32.sub (local.get $K) (i32.const 1)))
      (br_if $k (local.get $K)))
    (v128.store (local.get $c) (local.get $r0)))

  ;; 1 row x 1 column, in the lanes of vectors so that it rounds as the other columns do (fused
  ;; in the FMA build: units that should stay equal, as the article's constant start, stay equal).
  (func $nn_1x1
    (param $c i32) (param $pa i32) (param $sak4 i32) (param $pb i32) (param $ldb4 i32) (param $K i32) (param $acc i32)
    (local $r v128) (local $x v128) (local $y v128)
    (if (local.get $acc) (then (local.set $r (v128.load32_splat (local.get $c)))))
    (loop $k
      (local.set $x (v128.load32_splat (local.get $pa)))
      (local.set $y (v128.load32_splat (local.get $pb)))
      (FMA $r $x $y)
      (local.set $pa (i32.add (local.get $pa) (local.get $sak4)))
      (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
      (local.set $K (i32.sub (local.get $K) (i32.const 1)))
      (br_if $k (local.get $K)))
    (f32.store (local.get $c) (f32x4.extract_lane 0 (local.get $r))))

  ;; ---------------------------------------------------------------------------------------------
  ;; gemm_nt
  (func $gemm_nt (export "gemm_nt")
    (param $c i32) (param $ldc i32) (param $a i32) (param $lda i32)
    (param $b i32) (param $ldb i32) (param $M i32) (param $N i32) (param $K i32) (param $acc i32)
    (local $i0 i32) (local $j0 i32) (local $M2 i32) (local $N4 i32) (local $K4 i32)
    (local $lda4 i32) (local $ldb4 i32) (local $ldc4 i32) (local $pc i32) (local $pa i32)
    (local.set $lda4 (i32.shl (local.get $lda) (i32.const 2)))
    (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $M2 (i32.and (local.get $M) (i32.const -2)))
    (local.set $N4 (i32.and (local.get $N) (i32.const -4)))
    (local.set $K4 (i32.and (local.get $K) (i32.const -4)))
    ;; Pairs of rows.
    (block $pairs_done
      (loop $pairs
        (br_if $pairs_done (i32.ge_s (local.get $i0) (local.get $M2)))
        (local.set $pc (i32.add (local.get $c) (i32.mul (local.get $i0) (local.get $ldc4))))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $lda4))))
        (local.set $j0 (i32.const 0))
        (block $quads_done
          (loop $quads
            (br_if $quads_done (i32.ge_s (local.get $j0) (local.get $N4)))
            (call $nt_2x4
              (i32.add (local.get $pc) (i32.shl (local.get $j0) (i32.const 2))) (local.get $ldc4)
              (local.get $pa) (local.get $lda4)
              (i32.add (local.get $b) (i32.mul (local.get $j0) (local.get $ldb4))) (local.get $ldb4)
              (local.get $K4) (local.get $acc))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 4)))
            (br $quads)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 2)))
        (br $pairs)))
    ;; The last row (M odd), 4 columns at a time.
    (if (i32.lt_s (local.get $M2) (local.get $M))
      (then
        (local.set $pc (i32.add (local.get $c) (i32.mul (local.get $M2) (local.get $ldc4))))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $M2) (local.get $lda4))))
        (local.set $j0 (i32.const 0))
        (block $quads_done
          (loop $quads
            (br_if $quads_done (i32.ge_s (local.get $j0) (local.get $N4)))
            (call $nt_1x4
              (i32.add (local.get $pc) (i32.shl (local.get $j0) (i32.const 2)))
              (local.get $pa)
              (i32.add (local.get $b) (i32.mul (local.get $j0) (local.get $ldb4))) (local.get $ldb4)
              (local.get $K4) (local.get $acc))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 4)))
            (br $quads)))))
    ;; The last N % 4 columns of every row.
    (local.set $i0 (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i0) (local.get $M)))
        (local.set $j0 (local.get $N4))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j0) (local.get $N)))
            (call $nt_1x1
              (i32.add (local.get $c) (i32.add (i32.mul (local.get $i0) (local.get $ldc4)) (i32.shl (local.get $j0) (i32.const 2))))
              (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $lda4)))
              (i32.add (local.get $b) (i32.mul (local.get $j0) (local.get $ldb4)))
              (local.get $K4) (local.get $acc))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 1)))
            (br $cols)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 1)))
        (br $rows)))
    ;; K % 4 leftovers: scalar, added into what the vector part wrote.
    (if (i32.lt_s (local.get $K4) (local.get $K))
      (then
        (call $nt_tail (local.get $c) (local.get $ldc4) (local.get $a) (local.get $lda4) (local.get $b) (local.get $ldb4)
          (local.get $M) (local.get $N) (local.get $K4) (local.get $K)))))

  ;; Sum of the 4 lanes of each of r0..r3, as the lanes of one vector.
  (func $hsum4 (param $r0 v128) (param $r1 v128) (param $r2 v128) (param $r3 v128) (result v128)
    (local $s01 v128) (local $s23 v128)
    ;; [r0.0+r0.2, r0.1+r0.3, r1.0+r1.2, r1.1+r1.3]
    (local.set $s01 (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $r0) (local.get $r1))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $r0) (local.get $r1))))
    (local.set $s23 (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $r2) (local.get $r3))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $r2) (local.get $r3))))
    (f32x4.add
      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $s01) (local.get $s23))
      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $s01) (local.get $s23))))

  ;; 2 rows x 4 columns; K a multiple of 4 (may be 0). c: C(0, 0); a: A row 0; b: B row 0.
  (func $nt_2x4
    (param $c i32) (param $ldc4 i32) (param $a i32) (param $lda4 i32) (param $b i32) (param $ldb4 i32)
    (param $K4 i32) (param $acc i32)
    (local $a1 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32) (local $k i32)
    (local $x0 v128) (local $x1 v128) (local $y v128)
    (local $r00 v128) (local $r01 v128) (local $r02 v128) (local $r03 v128)
    (local $r10 v128) (local $r11 v128) (local $r12 v128) (local $r13 v128)
    (local $s0 v128) (local $s1 v128)
    (local.set $a1 (i32.add (local.get $a) (local.get $lda4)))
    (local.set $b1 (i32.add (local.get $b) (local.get $ldb4)))
    (local.set $b2 (i32.add (local.get $b1) (local.get $ldb4)))
    (local.set $b3 (i32.add (local.get $b2) (local.get $ldb4)))
    (local.set $k (i32.shl (local.get $K4) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $k)))
      (loop $kl
        (local.set $x0 (v128.load (local.get $a)))
        (local.set $x1 (v128.load (local.get $a1)))
        (local.set $y (v128.load (local.get $b)))
        (FMA $r00 $x0 $y) (FMA $r10 $x1 $y)
        (local.set $y (v128.load (local.get $b1)))
        (FMA $r01 $x0 $y) (FMA $r11 $x1 $y)
        (local.set $y (v128.load (local.get $b2)))
        (FMA $r02 $x0 $y) (FMA $r12 $x1 $y)
        (local.set $y (v128.load (local.get $b3)))
        (FMA $r03 $x0 $y) (FMA $r13 $x1 $y)
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $a1 (i32.add (local.get $a1) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $b1 (i32.add (local.get $b1) (i32.const 16)))
        (local.set $b2 (i32.add (local.get $b2) (i32.const 16)))
        (local.set $b3 (i32.add (local.get $b3) (i32.const 16)))
        (local.set $k (i32.sub (local.get $k) (i32.const 16)))
        (br_if $kl (local.get $k))))
    (local.set $s0 (call $hsum4 (local.get $r00) (local.get $r01) (local.get $r02) (local.get $r03)))
    (local.set $s1 (call $hsum4 (local.get $r10) (local.get $r11) (local.get $r12) (local.get $r13)))
    (if (local.get $acc)
      (then
        (local.set $s0 (f32x4.add (local.get $s0) (v128.load (local.get $c))))
        (local.set $s1 (f32x4.add (local.get $s1) (v128.load (i32.add (local.get $c) (local.get $ldc4)))))))
    (v128.store (local.get $c) (local.get $s0))
    (v128.store (i32.add (local.get $c) (local.get $ldc4)) (local.get $s1)))

  ;; 1 row x 4 columns; K a multiple of 4 (may be 0).
  (func $nt_1x4
    (param $c i32) (param $a i32) (param $b i32) (param $ldb4 i32) (param $K4 i32) (param $acc i32)
    (local $b1 i32) (local $b2 i32) (local $b3 i32) (local $k i32) (local $x v128) (local $y v128)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128) (local $s v128)
    (local.set $b1 (i32.add (local.get $b) (local.get $ldb4)))
    (local.set $b2 (i32.add (local.get $b1) (local.get $ldb4)))
    (local.set $b3 (i32.add (local.get $b2) (local.get $ldb4)))
    (local.set $k (i32.shl (local.get $K4) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $k)))
      (loop $kl
        (local.set $x (v128.load (local.get $a)))
        (local.set $y (v128.load (local.get $b))) (FMA $r0 $x $y)
        (local.set $y (v128.load (local.get $b1))) (FMA $r1 $x $y)
        (local.set $y (v128.load (local.get $b2))) (FMA $r2 $x $y)
        (local.set $y (v128.load (local.get $b3))) (FMA $r3 $x $y)
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $b1 (i32.add (local.get $b1) (i32.const 16)))
        (local.set $b2 (i32.add (local.get $b2) (i32.const 16)))
        (local.set $b3 (i32.add (local.get $b3) (i32.const 16)))
        (local.set $k (i32.sub (local.get $k) (i32.const 16)))
        (br_if $kl (local.get $k))))
    (local.set $s (call $hsum4 (local.get $r0) (local.get $r1) (local.get $r2) (local.get $r3)))
    (if (local.get $acc) (then (local.set $s (f32x4.add (local.get $s) (v128.load (local.get $c))))))
    (v128.store (local.get $c) (local.get $s)))

  ;; 1 row x 1 column; K a multiple of 4 (may be 0).
  (func $nt_1x1
    (param $c i32) (param $a i32) (param $b i32) (param $K4 i32) (param $acc i32)
    (local $k i32) (local $r v128) (local $s f32) (local $x v128) (local $y v128)
    (local.set $k (i32.shl (local.get $K4) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $k)))
      (loop $kl
        (local.set $x (v128.load (local.get $a)))
        (local.set $y (v128.load (local.get $b)))
        (FMA $r $x $y)
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $k (i32.sub (local.get $k) (i32.const 16)))
        (br_if $kl (local.get $k))))
    (local.set $s (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $r)) (f32x4.extract_lane 2 (local.get $r)))
      (f32.add (f32x4.extract_lane 1 (local.get $r)) (f32x4.extract_lane 3 (local.get $r)))))
    (if (local.get $acc) (then (local.set $s (f32.add (local.get $s) (f32.load (local.get $c))))))
    (f32.store (local.get $c) (local.get $s)))

  ;; C(i, j) += sum over k in [k0, K) of A(i, k) * B(j, k); strides in bytes.
  (func $nt_tail
    (param $c i32) (param $ldc4 i32) (param $a i32) (param $lda4 i32) (param $b i32) (param $ldb4 i32)
    (param $M i32) (param $N i32) (param $k0 i32) (param $K i32)
    (local $i i32) (local $j i32) (local $k i32) (local $pa i32) (local $pb i32) (local $pc i32) (local $s f32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $M)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j) (local.get $N)))
            (local.set $pa (i32.add (local.get $a) (i32.add (i32.mul (local.get $i) (local.get $lda4)) (i32.shl (local.get $k0) (i32.const 2)))))
            (local.set $pb (i32.add (local.get $b) (i32.add (i32.mul (local.get $j) (local.get $ldb4)) (i32.shl (local.get $k0) (i32.const 2)))))
            (local.set $s (f32.const 0))
            (local.set $k (local.get $k0))
            (block $k_done
              (loop $kl
                (br_if $k_done (i32.ge_s (local.get $k) (local.get $K)))
                (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pb)))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $kl)))
            (local.set $pc (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc4)) (i32.shl (local.get $j) (i32.const 2)))))
            (f32.store (local.get $pc) (f32.add (f32.load (local.get $pc)) (local.get $s)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; ---------------------------------------------------------------------------------------------
  ;; Element-wise kernels, four floats at a time, in float32 (kernels.ts's loops are the reference,
  ;; in float64): exp, the sigmoid and tanh (Cephes' single-precision approximations: within a few
  ;; units in the last place of float32, measured in kernels-elementwise.test.ts), the LSTM cell
  ;; forward and backward. They use no FMA, so both builds give the same bits. A row's last H % 4
  ;; values go through the same vector code, read and written lane by lane ($load_n, $store_n;
  ;; whole vectors are loaded and stored in place: a call a vector costs more than the arithmetic).

  ;; The first n (0..4) floats at p, zeros after.
  (func $load_n (param $p i32) (param $n i32) (result v128)
    (local $v v128)
    (if (i32.ge_s (local.get $n) (i32.const 4)) (then (return (v128.load (local.get $p)))))
    (if (i32.ge_s (local.get $n) (i32.const 1)) (then (local.set $v (f32x4.replace_lane 0 (local.get $v) (f32.load (local.get $p))))))
    (if (i32.ge_s (local.get $n) (i32.const 2)) (then (local.set $v (f32x4.replace_lane 1 (local.get $v) (f32.load offset=4 (local.get $p))))))
    (if (i32.ge_s (local.get $n) (i32.const 3)) (then (local.set $v (f32x4.replace_lane 2 (local.get $v) (f32.load offset=8 (local.get $p))))))
    (local.get $v))

  ;; Stores the first n (0..4) lanes of v at p.
  (func $store_n (param $p i32) (param $v v128) (param $n i32)
    (if (i32.ge_s (local.get $n) (i32.const 4)) (then (v128.store (local.get $p) (local.get $v)) (return)))
    (if (i32.ge_s (local.get $n) (i32.const 1)) (then (f32.store (local.get $p) (f32x4.extract_lane 0 (local.get $v)))))
    (if (i32.ge_s (local.get $n) (i32.const 2)) (then (f32.store offset=4 (local.get $p) (f32x4.extract_lane 1 (local.get $v)))))
    (if (i32.ge_s (local.get $n) (i32.const 3)) (then (f32.store offset=8 (local.get $p) (f32x4.extract_lane 2 (local.get $v))))))

  ;; e^x (Cephes expf): x = n ln 2 + r, |r| <= ln 2 / 2, e^r by a degree-7 polynomial, times 2^n
  ;; made in the exponent bits. x is held to [-87.3, 88] (2^n stays a normal float).
  ;; pmin/pmax (one instruction each) clamp as min/max do here: the bounds are never zero, and a
  ;; NaN x, the first operand, comes through either way. n = nearest(x log2 e) is made by adding
  ;; 1.5 * 2^23, which rounds to the nearest integer (ties to even, as f32x4.nearest) and leaves n
  ;; in the low bits, so the integer n needs no conversion: the same values, fewer instructions.
  (func $vexp (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128) (local $t v128)
    (local.set $x (f32x4.pmin (f32x4.pmax (local.get $x) (v128.const f32x4 -87.3 -87.3 -87.3 -87.3)) (v128.const f32x4 88 88 88 88)))
    (local.set $t (f32x4.add (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
      (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $n (f32x4.sub (local.get $t) (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $r (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $p (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $p (f32x4.add (f32x4.add (f32x4.mul (local.get $p) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r)) (v128.const f32x4 1 1 1 1)))
    ;; 2^n: n + 127 into the exponent bits (t's bits are 0x4B400000 + n).
    (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.sub (local.get $t) (v128.const i32x4 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81)) (i32.const 23))))

  ;; 1 / (1 + e^-x).
  (func $vsigmoid (param $x v128) (result v128)
    (f32x4.div (v128.const f32x4 1 1 1 1)
      (f32x4.add (v128.const f32x4 1 1 1 1) (call $vexp (f32x4.neg (local.get $x))))))

  ;; tanh (Cephes tanhf): below |x| = 0.625 an odd polynomial, above 1 - 2 / (e^2|x| + 1) with x's sign.
  (func $vtanh (param $x v128) (result v128)
    (local $a v128) (local $z v128) (local $p v128) (local $big v128)
    (local.set $a (f32x4.abs (local.get $x)))
    (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $p (v128.const f32x4 -5.70498872745e-3 -5.70498872745e-3 -5.70498872745e-3 -5.70498872745e-3))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 2.06390887954e-2 2.06390887954e-2 2.06390887954e-2 2.06390887954e-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -5.37397155531e-2 -5.37397155531e-2 -5.37397155531e-2 -5.37397155531e-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 1.33314422036e-1 1.33314422036e-1 1.33314422036e-1 1.33314422036e-1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -3.33332819422e-1 -3.33332819422e-1 -3.33332819422e-1 -3.33332819422e-1)))
    (local.set $p (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $x)) (local.get $x)))
    (local.set $big (f32x4.sub (v128.const f32x4 1 1 1 1)
      (f32x4.div (v128.const f32x4 2 2 2 2)
        (f32x4.add (call $vexp (f32x4.add (local.get $a) (local.get $a))) (v128.const f32x4 1 1 1 1)))))
    (local.set $big (v128.or (local.get $big) (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
    (v128.bitselect (local.get $p) (local.get $big) (f32x4.lt (local.get $a) (v128.const f32x4 0.625 0.625 0.625 0.625))))

  ;; dst[k] = f(src[k]) for n floats (0: exp, 1: sigmoid, 2: tanh), for the tests of the approximations.
  (func (export "map") (param $dst i32) (param $src i32) (param $n i32) (param $f i32)
    (local $k i32) (local $v v128) (local $m i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $k) (local.get $n)))
        (local.set $m (i32.sub (local.get $n) (local.get $k)))
        (local.set $v (call $load_n (i32.add (local.get $src) (i32.shl (local.get $k) (i32.const 2))) (local.get $m)))
        (local.set $v
          (if (result v128) (i32.eqz (local.get $f)) (then (call $vexp (local.get $v)))
            (else (if (result v128) (i32.eq (local.get $f) (i32.const 1)) (then (call $vsigmoid (local.get $v))) (else (call $vtanh (local.get $v)))))))
        (call $store_n (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 2))) (local.get $v) (local.get $m))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $l))))

  ;; One time step of the cell for B rows (kernels.ts lstmCellForward): gates (row b at
  ;; gates + b*gs: [i | f | g | o], pre-activations in, activations out); c, h, tanhC, hPrev, cPrev
  ;; at their row b + b*ss; the previous state at hIn, cIn + b*ps (0: zeros). Strides in bytes.
  (func (export "cell_forward")
    (param $gates i32) (param $gs i32) (param $c i32) (param $h i32) (param $tc i32) (param $hp i32) (param $cp i32)
    (param $ss i32) (param $hIn i32) (param $cIn i32) (param $ps i32) (param $B i32) (param $H i32)
    (local $b i32) (local $j i32) (local $n i32) (local $full i32) (local $H4 i32) (local $g i32) (local $s i32) (local $p i32)
    (local $vi v128) (local $vf v128) (local $vg v128) (local $vo v128) (local $vh v128) (local $vc v128) (local $vt v128)
    (local.set $H4 (i32.shl (local.get $H) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $b) (local.get $B)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j) (local.get $H)))
            (local.set $n (i32.sub (local.get $H) (local.get $j)))
            (local.set $full (i32.ge_s (local.get $n) (i32.const 4)))
            (local.set $g (i32.add (i32.add (local.get $gates) (i32.mul (local.get $b) (local.get $gs))) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $s (i32.add (i32.mul (local.get $b) (local.get $ss)) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (i32.add (i32.mul (local.get $b) (local.get $ps)) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $vh (v128.const i32x4 0 0 0 0))
            (local.set $vc (v128.const i32x4 0 0 0 0))
            (if (local.get $hIn) (then (local.set $vh (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $hIn) (local.get $p)))) (else (call $load_n (i32.add (local.get $hIn) (local.get $p)) (local.get $n)))))))
            (if (local.get $cIn) (then (local.set $vc (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $cIn) (local.get $p)))) (else (call $load_n (i32.add (local.get $cIn) (local.get $p)) (local.get $n)))))))
            (local.set $vi (call $vsigmoid (if (result v128) (local.get $full) (then (v128.load (local.get $g))) (else (call $load_n (local.get $g) (local.get $n))))))
            (local.set $vf (call $vsigmoid (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $g) (local.get $H4)))) (else (call $load_n (i32.add (local.get $g) (local.get $H4)) (local.get $n))))))
            (local.set $vg (call $vtanh (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $g) (i32.shl (local.get $H4) (i32.const 1))))) (else (call $load_n (i32.add (local.get $g) (i32.shl (local.get $H4) (i32.const 1))) (local.get $n))))))
            (local.set $vo (call $vsigmoid (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $g) (i32.mul (local.get $H4) (i32.const 3))))) (else (call $load_n (i32.add (local.get $g) (i32.mul (local.get $H4) (i32.const 3))) (local.get $n))))))
            (if (local.get $full) (then (v128.store (local.get $g) (local.get $vi))) (else (call $store_n (local.get $g) (local.get $vi) (local.get $n))))
            (if (local.get $full) (then (v128.store (i32.add (local.get $g) (local.get $H4)) (local.get $vf))) (else (call $store_n (i32.add (local.get $g) (local.get $H4)) (local.get $vf) (local.get $n))))
            (if (local.get $full) (then (v128.store (i32.add (local.get $g) (i32.shl (local.get $H4) (i32.const 1))) (local.get $vg))) (else (call $store_n (i32.add (local.get $g) (i32.shl (local.get $H4) (i32.const 1))) (local.get $vg) (local.get $n))))
            (if (local.get $full) (then (v128.store (i32.add (local.get $g) (i32.mul (local.get $H4) (i32.const 3))) (local.get $vo))) (else (call $store_n (i32.add (local.get $g) (i32.mul (local.get $H4) (i32.const 3))) (local.get $vo) (local.get $n))))
            ;; The previous state is copied out before h and c are written: hIn may be h's rows of the step before.
            (if (local.get $full) (then (v128.store (i32.add (local.get $hp) (local.get $s)) (local.get $vh))) (else (call $store_n (i32.add (local.get $hp) (local.get $s)) (local.get $vh) (local.get $n))))
            (if (local.get $full) (then (v128.store (i32.add (local.get $cp) (local.get $s)) (local.get $vc))) (else (call $store_n (i32.add (local.get $cp) (local.get $s)) (local.get $vc) (local.get $n))))
            (local.set $vc (f32x4.add (f32x4.mul (local.get $vf) (local.get $vc)) (f32x4.mul (local.get $vi) (local.get $vg))))
            (local.set $vt (call $vtanh (local.get $vc)))
            (if (local.get $full) (then (v128.store (i32.add (local.get $c) (local.get $s)) (local.get $vc))) (else (call $store_n (i32.add (local.get $c) (local.get $s)) (local.get $vc) (local.get $n))))
            (if (local.get $full) (then (v128.store (i32.add (local.get $tc) (local.get $s)) (local.get $vt))) (else (call $store_n (i32.add (local.get $tc) (local.get $s)) (local.get $vt) (local.get $n))))
            (if (local.get $full) (then (v128.store (i32.add (local.get $h) (local.get $s)) (f32x4.mul (local.get $vo) (local.get $vt)))) (else (call $store_n (i32.add (local.get $h) (local.get $s)) (f32x4.mul (local.get $vo) (local.get $vt)) (local.get $n))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; Back through one time step for B rows (kernels.ts lstmCellBackward): gates and dGates at
  ;; row b + b*gs; tanhC, cPrev and the traces dhT, dcT (0: not kept) at + b*ss; dOut at + b*os;
  ;; dhNext and dcNext (B, H) contiguous. Strides in bytes.
  (func (export "cell_backward")
    (param $gates i32) (param $dg i32) (param $gs i32) (param $tc i32) (param $cp i32) (param $dhT i32) (param $dcT i32)
    (param $ss i32) (param $dOut i32) (param $os i32) (param $dhN i32) (param $dcN i32) (param $B i32) (param $H i32)
    (local $b i32) (local $j i32) (local $n i32) (local $full i32) (local $H4 i32) (local $g i32) (local $s i32) (local $q i32) (local $e i32)
    (local $vi v128) (local $vf v128) (local $vg v128) (local $vo v128) (local $vt v128) (local $dh v128) (local $dc v128)
    (local $one v128)
    (local.set $one (v128.const f32x4 1 1 1 1))
    (local.set $H4 (i32.shl (local.get $H) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $b) (local.get $B)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j) (local.get $H)))
            (local.set $n (i32.sub (local.get $H) (local.get $j)))
            (local.set $full (i32.ge_s (local.get $n) (i32.const 4)))
            (local.set $g (i32.add (i32.mul (local.get $b) (local.get $gs)) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $s (i32.add (i32.mul (local.get $b) (local.get $ss)) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $q (i32.add (i32.mul (local.get $b) (local.get $os)) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $e (i32.add (i32.mul (local.get $b) (local.get $H4)) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $vi (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $gates) (local.get $g)))) (else (call $load_n (i32.add (local.get $gates) (local.get $g)) (local.get $n)))))
            (local.set $vf (if (result v128) (local.get $full) (then (v128.load (i32.add (i32.add (local.get $gates) (local.get $g)) (local.get $H4)))) (else (call $load_n (i32.add (i32.add (local.get $gates) (local.get $g)) (local.get $H4)) (local.get $n)))))
            (local.set $vg (if (result v128) (local.get $full) (then (v128.load (i32.add (i32.add (local.get $gates) (local.get $g)) (i32.shl (local.get $H4) (i32.const 1))))) (else (call $load_n (i32.add (i32.add (local.get $gates) (local.get $g)) (i32.shl (local.get $H4) (i32.const 1))) (local.get $n)))))
            (local.set $vo (if (result v128) (local.get $full) (then (v128.load (i32.add (i32.add (local.get $gates) (local.get $g)) (i32.mul (local.get $H4) (i32.const 3))))) (else (call $load_n (i32.add (i32.add (local.get $gates) (local.get $g)) (i32.mul (local.get $H4) (i32.const 3))) (local.get $n)))))
            (local.set $vt (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $tc) (local.get $s)))) (else (call $load_n (i32.add (local.get $tc) (local.get $s)) (local.get $n)))))
            (local.set $dh (f32x4.add (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $dOut) (local.get $q)))) (else (call $load_n (i32.add (local.get $dOut) (local.get $q)) (local.get $n))))
                                      (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $dhN) (local.get $e)))) (else (call $load_n (i32.add (local.get $dhN) (local.get $e)) (local.get $n))))))
            ;; dc = dcNext + dh * o * (1 - tanh c ^2)
            (local.set $dc (f32x4.add (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $dcN) (local.get $e)))) (else (call $load_n (i32.add (local.get $dcN) (local.get $e)) (local.get $n))))
              (f32x4.mul (f32x4.mul (local.get $dh) (local.get $vo))
                         (f32x4.sub (local.get $one) (f32x4.mul (local.get $vt) (local.get $vt))))))
            (if (local.get $dhT) (then (if (local.get $full) (then (v128.store (i32.add (local.get $dhT) (local.get $s)) (local.get $dh))) (else (call $store_n (i32.add (local.get $dhT) (local.get $s)) (local.get $dh) (local.get $n))))))
            (if (local.get $dcT) (then (if (local.get $full) (then (v128.store (i32.add (local.get $dcT) (local.get $s)) (local.get $dc))) (else (call $store_n (i32.add (local.get $dcT) (local.get $s)) (local.get $dc) (local.get $n))))))
            ;; di = dc g i (1 - i); df = dc cPrev f (1 - f); dg = dc i (1 - g^2); do = dh tanh c o (1 - o)
            (if (local.get $full) (then (v128.store (i32.add (local.get $dg) (local.get $g)) (f32x4.mul (f32x4.mul (f32x4.mul (local.get $dc) (local.get $vg)) (local.get $vi)) (f32x4.sub (local.get $one) (local.get $vi))))) (else (call $store_n (i32.add (local.get $dg) (local.get $g)) (f32x4.mul (f32x4.mul (f32x4.mul (local.get $dc) (local.get $vg)) (local.get $vi)) (f32x4.sub (local.get $one) (local.get $vi))) (local.get $n))))
            (if (local.get $full) (then (v128.store (i32.add (i32.add (local.get $dg) (local.get $g)) (local.get $H4)) (f32x4.mul (f32x4.mul (f32x4.mul (local.get $dc) (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $cp) (local.get $s)))) (else (call $load_n (i32.add (local.get $cp) (local.get $s)) (local.get $n))))) (local.get $vf))
                (f32x4.sub (local.get $one) (local.get $vf))))) (else (call $store_n (i32.add (i32.add (local.get $dg) (local.get $g)) (local.get $H4)) (f32x4.mul (f32x4.mul (f32x4.mul (local.get $dc) (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $cp) (local.get $s)))) (else (call $load_n (i32.add (local.get $cp) (local.get $s)) (local.get $n))))) (local.get $vf))
                (f32x4.sub (local.get $one) (local.get $vf))) (local.get $n))))
            (if (local.get $full) (then (v128.store (i32.add (i32.add (local.get $dg) (local.get $g)) (i32.shl (local.get $H4) (i32.const 1))) (f32x4.mul (f32x4.mul (local.get $dc) (local.get $vi)) (f32x4.sub (local.get $one) (f32x4.mul (local.get $vg) (local.get $vg)))))) (else (call $store_n (i32.add (i32.add (local.get $dg) (local.get $g)) (i32.shl (local.get $H4) (i32.const 1))) (f32x4.mul (f32x4.mul (local.get $dc) (local.get $vi)) (f32x4.sub (local.get $one) (f32x4.mul (local.get $vg) (local.get $vg)))) (local.get $n))))
            (if (local.get $full) (then (v128.store (i32.add (i32.add (local.get $dg) (local.get $g)) (i32.mul (local.get $H4) (i32.const 3))) (f32x4.mul (f32x4.mul (f32x4.mul (local.get $dh) (local.get $vt)) (local.get $vo)) (f32x4.sub (local.get $one) (local.get $vo))))) (else (call $store_n (i32.add (i32.add (local.get $dg) (local.get $g)) (i32.mul (local.get $H4) (i32.const 3))) (f32x4.mul (f32x4.mul (f32x4.mul (local.get $dh) (local.get $vt)) (local.get $vo)) (f32x4.sub (local.get $one) (local.get $vo))) (local.get $n))))
            (if (local.get $full) (then (v128.store (i32.add (local.get $dcN) (local.get $e)) (f32x4.mul (local.get $dc) (local.get $vf)))) (else (call $store_n (i32.add (local.get $dcN) (local.get $e)) (f32x4.mul (local.get $dc) (local.get $vf)) (local.get $n))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; Column sums: dst1[j] (and dst2[j] unless 0) += the sum over R rows (src + r*4ld) of src[r, j],
  ;; summed in float64 row by row into `work` ((N + 4) doubles), as kernels.ts addColumnSums does:
  ;; the same additions in the same order, so the same bits.
  (func (export "column_sums") (param $dst1 i32) (param $dst2 i32) (param $src i32) (param $R i32) (param $N i32) (param $ld i32) (param $work i32)
    (local $r i32) (local $j i32) (local $v v128) (local $p i32) (local $w i32) (local $s f64)
    (local.set $j (i32.const 0))
    (block $z_done
      (loop $z
        (br_if $z_done (i32.ge_s (local.get $j) (local.get $N)))
        (v128.store (i32.add (local.get $work) (i32.shl (local.get $j) (i32.const 3))) (v128.const i32x4 0 0 0 0))
        (v128.store offset=16 (i32.add (local.get $work) (i32.shl (local.get $j) (i32.const 3))) (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $z)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $r) (local.get $R)))
        (local.set $p (i32.add (local.get $src) (i32.shl (i32.mul (local.get $r) (local.get $ld)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (local.set $w (local.get $work))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j) (local.get $N)))
            (local.set $v (call $load_n (local.get $p) (i32.sub (local.get $N) (local.get $j))))
            (v128.store (local.get $w) (f64x2.add (v128.load (local.get $w)) (f64x2.promote_low_f32x4 (local.get $v))))
            (v128.store offset=16 (local.get $w) (f64x2.add (v128.load offset=16 (local.get $w))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
            (local.set $p (i32.add (local.get $p) (i32.shl (select (i32.const 4) (i32.sub (local.get $N) (local.get $j)) (i32.ge_s (i32.sub (local.get $N) (local.get $j)) (i32.const 4))) (i32.const 2))))
            (local.set $w (i32.add (local.get $w) (i32.const 32)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows)))
    (local.set $j (i32.const 0))
    (block $out_done
      (loop $out
        (br_if $out_done (i32.ge_s (local.get $j) (local.get $N)))
        (local.set $s (f64.load (i32.add (local.get $work) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $p (i32.shl (local.get $j) (i32.const 2)))
        (f32.store (i32.add (local.get $dst1) (local.get $p))
          (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load (i32.add (local.get $dst1) (local.get $p)))) (local.get $s))))
        (if (local.get $dst2)
          (then
            (f32.store (i32.add (local.get $dst2) (local.get $p))
              (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load (i32.add (local.get $dst2) (local.get $p)))) (local.get $s))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $out))))

  ;; dst[ids[r], :] += src[r, :] for R rows of N floats (ids: R int32 at `ids`), four at a time; a
  ;; float32 sum of two floats is the float64 sum rounded, so the same bits as kernels.ts's loop.
  (func (export "scatter_add_rows") (param $dst i32) (param $src i32) (param $ids i32) (param $R i32) (param $N i32)
    (local $r i32) (local $j i32) (local $d i32) (local $n i32) (local $full i32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $r) (local.get $R)))
        (local.set $d (i32.add (local.get $dst) (i32.shl (i32.mul (i32.load (i32.add (local.get $ids) (i32.shl (local.get $r) (i32.const 2)))) (local.get $N)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j) (local.get $N)))
            (local.set $n (i32.sub (local.get $N) (local.get $j)))
            (local.set $full (i32.ge_s (local.get $n) (i32.const 4)))
            (if (local.get $full) (then (v128.store (local.get $d) (f32x4.add (if (result v128) (local.get $full) (then (v128.load (local.get $d))) (else (call $load_n (local.get $d) (local.get $n)))) (if (result v128) (local.get $full) (then (v128.load (local.get $src))) (else (call $load_n (local.get $src) (local.get $n))))))) (else (call $store_n (local.get $d) (f32x4.add (if (result v128) (local.get $full) (then (v128.load (local.get $d))) (else (call $load_n (local.get $d) (local.get $n)))) (if (result v128) (local.get $full) (then (v128.load (local.get $src))) (else (call $load_n (local.get $src) (local.get $n))))) (local.get $n))))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (local.set $src (i32.add (local.get $src) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        ;; src advanced by whole vectors: back to the start of the next row.
        (local.set $src (i32.sub (local.get $src) (i32.shl (i32.sub (i32.and (i32.add (local.get $N) (i32.const 3)) (i32.const -4)) (local.get $N)) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; Softmax of R rows of V logits (row r at logits + 4rV) into probs: e^(x - max) / sum, the
  ;; exps and their sum in float32. stats receives each row's max and sum (2R floats), from which
  ;; the caller takes the loss (log sum + max - the target's logit).
  (func (export "softmax_rows") (param $probs i32) (param $logits i32) (param $R i32) (param $V i32) (param $stats i32)
    (local $r i32) (local $j i32) (local $n i32) (local $row i32) (local $out i32)
    (local $m v128) (local $v v128) (local $sum v128) (local $max f32) (local $total f32) (local $inv v128)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $r) (local.get $R)))
        (local.set $row (i32.add (local.get $logits) (i32.shl (i32.mul (local.get $r) (local.get $V)) (i32.const 2))))
        (local.set $out (i32.add (local.get $probs) (i32.shl (i32.mul (local.get $r) (local.get $V)) (i32.const 2))))
        ;; The row's max (lanes past V hold -inf).
        (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $j (i32.const 0))
        (block $max_done
          (loop $max_l
            (br_if $max_done (i32.ge_s (local.get $j) (local.get $V)))
            (local.set $n (i32.sub (local.get $V) (local.get $j)))
            (local.set $v (call $load_n (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (local.get $n)))
            (if (i32.lt_s (local.get $n) (i32.const 4))
              (then (local.set $v (v128.bitselect (local.get $v) (v128.const f32x4 -inf -inf -inf -inf)
                (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (local.get $n)))))))
            (local.set $m (f32x4.max (local.get $m) (local.get $v)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $max_l)))
        (local.set $max (f32.max (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
                                 (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
        (local.set $m (f32x4.splat (local.get $max)))
        ;; e^(x - max) into probs, summed (lanes past V count zero).
        (local.set $sum (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $exp_done
          (loop $exp_l
            (br_if $exp_done (i32.ge_s (local.get $j) (local.get $V)))
            (local.set $n (i32.sub (local.get $V) (local.get $j)))
            (local.set $v (call $vexp (f32x4.sub (call $load_n (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (local.get $n)) (local.get $m))))
            (if (i32.lt_s (local.get $n) (i32.const 4))
              (then (local.set $v (v128.and (local.get $v) (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (local.get $n)))))))
            (local.set $sum (f32x4.add (local.get $sum) (local.get $v)))
            (call $store_n (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))) (local.get $v) (local.get $n))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $exp_l)))
        (local.set $total (f32.add (f32.add (f32x4.extract_lane 0 (local.get $sum)) (f32x4.extract_lane 2 (local.get $sum)))
                                   (f32.add (f32x4.extract_lane 1 (local.get $sum)) (f32x4.extract_lane 3 (local.get $sum)))))
        (local.set $inv (f32x4.splat (f32.div (f32.const 1) (local.get $total))))
        (local.set $j (i32.const 0))
        (block $scale_done
          (loop $scale_l
            (br_if $scale_done (i32.ge_s (local.get $j) (local.get $V)))
            (local.set $n (i32.sub (local.get $V) (local.get $j)))
            (call $store_n (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
              (f32x4.mul (call $load_n (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))) (local.get $n)) (local.get $inv))
              (local.get $n))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $scale_l)))
        (f32.store (i32.add (local.get $stats) (i32.shl (local.get $r) (i32.const 3))) (local.get $max))
        (f32.store offset=4 (i32.add (local.get $stats) (i32.shl (local.get $r) (i32.const 3))) (local.get $total))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; ---------------------------------------------------------------------------------------------
  ;; gemm_packed: C (M, N) (+)= A (M, K) · B (K, N) for any of the three forms, where A(i, k) lies at
  ;; a + 4*(i*sai + k*sak) and B(k, j) at b + 4*(k*sbk + j*sbj). Blocks of B (KC x NC) and of A
  ;; (MC x KC) are first copied into `work` as panels laid out in the order the register tile reads
  ;; them (B: KC rows of 8 columns; A: KC columns of 4 rows), zero-padded to whole tiles, so the tile
  ;; streams both from cache whatever the operands' strides (the weight gradients' A^T has 2,048
  ;; rows 8 KB apart). The 4 x 8 tile keeps 8 accumulators in registers; each element is the sum of
  ;; its products in the order k = 0, 1, ..., K-1 (added to C first when accumulating), whatever the
  ;; blocking, so a job split over rows or columns of C gives the same bits as one call.
  ;; work: GEMM_WORK_BYTES bytes (see simd.ts), 16-byte aligned, used by this call only.
  ;; KC = 256, NC = 256, MC = 64: the B block (256 KB) in the second-level cache, A panels (4 KB)
  ;; and B panels (8 KB) in the first.
  (func $gemm_packed (export "gemm_packed")
    (param $c i32) (param $ldc i32) (param $a i32) (param $sai i32) (param $sak i32)
    (param $b i32) (param $sbk i32) (param $sbj i32) (param $M i32) (param $N i32) (param $K i32)
    (param $acc i32) (param $work i32)
    (call $gemm_blocks (local.get $c) (local.get $ldc) (local.get $a) (local.get $sai) (local.get $sak)
      (local.get $b) (local.get $sbk) (local.get $sbj) (local.get $M) (local.get $N) (local.get $K)
      (local.get $acc) (local.get $work) (i32.const 0)))

  ;; gemm_packed with B packed beforehand by pack_b_all (a weight read by every time step of a
  ;; recurrence is packed once, not once a step); the same tiles in the same order: the same bits.
  (func (export "gemm_prepacked")
    (param $c i32) (param $ldc i32) (param $a i32) (param $sai i32) (param $sak i32)
    (param $bpk i32) (param $M i32) (param $N i32) (param $K i32) (param $acc i32) (param $work i32)
    (call $gemm_blocks (local.get $c) (local.get $ldc) (local.get $a) (local.get $sai) (local.get $sak)
      (i32.const 0) (i32.const 0) (i32.const 0) (local.get $M) (local.get $N) (local.get $K)
      (local.get $acc) (local.get $work) (local.get $bpk)))

  ;; Packs all of B (K x N, B(k, j) at b + 4*(k*sbk + j*sbj)) as gemm_packed packs it block by
  ;; block, each block where $packed_block says; K * (N rounded up to 8) floats in all.
  (func (export "pack_b_all") (param $dst i32) (param $b i32) (param $sbk i32) (param $sbj i32) (param $K i32) (param $N i32)
    (local $jc i32) (local $pc i32) (local $nc i32) (local $kc i32)
    (block $jc_done
      (loop $jc_loop
        (br_if $jc_done (i32.ge_s (local.get $jc) (local.get $N)))
        (local.set $nc (i32.sub (local.get $N) (local.get $jc)))
        (if (i32.gt_s (local.get $nc) (i32.const 256)) (then (local.set $nc (i32.const 256))))
        (local.set $pc (i32.const 0))
        (block $pc_done
          (loop $pc_loop
            (br_if $pc_done (i32.ge_s (local.get $pc) (local.get $K)))
            (local.set $kc (i32.sub (local.get $K) (local.get $pc)))
            (if (i32.gt_s (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
            (call $pack_b (call $packed_block (local.get $dst) (local.get $jc) (local.get $pc) (local.get $K) (local.get $nc))
              (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (local.get $pc) (local.get $sbk)) (i32.mul (local.get $jc) (local.get $sbj))) (i32.const 2)))
              (local.get $sbk) (local.get $sbj) (local.get $kc) (local.get $nc))
            (local.set $pc (i32.add (local.get $pc) (i32.const 256)))
            (br $pc_loop)))
        (local.set $jc (i32.add (local.get $jc) (i32.const 256)))
        (br $jc_loop))))

  ;; Where pack_b_all puts the block of B's columns jc.. (nc of them) and rows pc..: at
  ;; dst + 4*(jc*K + pc*ncpad), ncpad = nc rounded up to 8.
  (func $packed_block (param $dst i32) (param $jc i32) (param $pc i32) (param $K i32) (param $nc i32) (result i32)
    (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $jc) (local.get $K))
      (i32.mul (local.get $pc) (i32.and (i32.add (local.get $nc) (i32.const 7)) (i32.const -8)))) (i32.const 2))))

  ;; gemm_packed's blocks; B packed here into work, or (bpk non-zero) already packed at bpk.
  (func $gemm_blocks
    (param $c i32) (param $ldc i32) (param $a i32) (param $sai i32) (param $sak i32)
    (param $b i32) (param $sbk i32) (param $sbj i32) (param $M i32) (param $N i32) (param $K i32)
    (param $acc i32) (param $work i32) (param $bpk i32)
    (local $jc i32) (local $pc i32) (local $ic i32) (local $jr i32) (local $ir i32)
    (local $nc i32) (local $kc i32) (local $mc i32) (local $accb i32)
    (local $bp i32) (local $ap i32) (local $tile i32) (local $ldc4 i32) (local $pcc i32)
    (local.set $bp (local.get $work))
    (local.set $ap (i32.add (local.get $work) (i32.const 262144))) ;; after 256 x 256 floats
    (local.set $tile (i32.add (local.get $ap) (i32.const 65536))) ;; after 64 x 256 floats
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (if (i32.eqz (local.get $K))
      (then
        (if (i32.eqz (local.get $acc)) (then (call $zero (local.get $c) (local.get $ldc) (local.get $M) (local.get $N))))
        (return)))
    (block $jc_done
      (loop $jc_loop
        (br_if $jc_done (i32.ge_s (local.get $jc) (local.get $N)))
        (local.set $nc (i32.sub (local.get $N) (local.get $jc)))
        (if (i32.gt_s (local.get $nc) (i32.const 256)) (then (local.set $nc (i32.const 256))))
        (local.set $pc (i32.const 0))
        (block $pc_done
          (loop $pc_loop
            (br_if $pc_done (i32.ge_s (local.get $pc) (local.get $K)))
            (local.set $kc (i32.sub (local.get $K) (local.get $pc)))
            (if (i32.gt_s (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
            (local.set $accb (i32.or (local.get $acc) (i32.gt_s (local.get $pc) (i32.const 0))))
            (if (local.get $bpk)
              (then
                (local.set $bp (call $packed_block (local.get $bpk) (local.get $jc) (local.get $pc) (local.get $K) (local.get $nc))))
              (else
                (call $pack_b (local.get $bp)
                  (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (local.get $pc) (local.get $sbk)) (i32.mul (local.get $jc) (local.get $sbj))) (i32.const 2)))
                  (local.get $sbk) (local.get $sbj) (local.get $kc) (local.get $nc))))
            (local.set $ic (i32.const 0))
            (block $ic_done
              (loop $ic_loop
                (br_if $ic_done (i32.ge_s (local.get $ic) (local.get $M)))
                (local.set $mc (i32.sub (local.get $M) (local.get $ic)))
                (if (i32.gt_s (local.get $mc) (i32.const 64)) (then (local.set $mc (i32.const 64))))
                (call $pack_a (local.get $ap)
                  (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (local.get $ic) (local.get $sai)) (i32.mul (local.get $pc) (local.get $sak))) (i32.const 2)))
                  (local.get $sai) (local.get $sak) (local.get $mc) (local.get $kc))
                (local.set $jr (i32.const 0))
                (block $jr_done
                  (loop $jr_loop
                    (br_if $jr_done (i32.ge_s (local.get $jr) (local.get $nc)))
                    (local.set $ir (i32.const 0))
                    (block $ir_done
                      (loop $ir_loop
                        (br_if $ir_done (i32.ge_s (local.get $ir) (local.get $mc)))
                        (local.set $pcc (i32.add (local.get $c)
                          (i32.add (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $ldc4))
                                   (i32.shl (i32.add (local.get $jc) (local.get $jr)) (i32.const 2)))))
                        (if (i32.and (i32.le_s (i32.add (local.get $ir) (i32.const 4)) (local.get $mc))
                                     (i32.le_s (i32.add (local.get $jr) (i32.const 8)) (local.get $nc)))
                          (then
                            (call $tile_4x8 (local.get $pcc) (local.get $ldc4)
                              (i32.add (local.get $ap) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2)))
                              (i32.add (local.get $bp) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2)))
                              (local.get $kc) (local.get $accb)))
                          (else
                            ;; A tile at the edge of C: run on a whole 4 x 8 tile in `work`, keep the part inside C.
                            (call $edge_tile (local.get $pcc) (local.get $ldc4) (local.get $tile)
                              (i32.add (local.get $ap) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2)))
                              (i32.add (local.get $bp) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2)))
                              (local.get $kc) (local.get $accb)
                              (i32.sub (local.get $mc) (local.get $ir)) (i32.sub (local.get $nc) (local.get $jr)))))
                        (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
                        (br $ir_loop)))
                    (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
                    (br $jr_loop)))
                (local.set $ic (i32.add (local.get $ic) (i32.const 64)))
                (br $ic_loop)))
            (local.set $pc (i32.add (local.get $pc) (i32.const 256)))
            (br $pc_loop)))
        (local.set $jc (i32.add (local.get $jc) (i32.const 256)))
        (br $jc_loop))))

  ;; The 4 x 8 register tile over packed panels: pa holds kc columns of 4 rows, pb kc rows of 8.
  (func $tile_4x8
    (param $c i32) (param $ldc4 i32) (param $pa i32) (param $pb i32) (param $kc i32) (param $acc i32)
    (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $r00 v128) (local $r01 v128) (local $r10 v128) (local $r11 v128)
    (local $r20 v128) (local $r21 v128) (local $r30 v128) (local $r31 v128)
    (local.set $c1 (i32.add (local.get $c) (local.get $ldc4)))
    (local.set $c2 (i32.add (local.get $c1) (local.get $ldc4)))
    (local.set $c3 (i32.add (local.get $c2) (local.get $ldc4)))
    (if (local.get $acc)
      (then
        (local.set $r00 (v128.load (local.get $c))) (local.set $r01 (v128.load offset=16 (local.get $c)))
        (local.set $r10 (v128.load (local.get $c1))) (local.set $r11 (v128.load offset=16 (local.get $c1)))
        (local.set $r20 (v128.load (local.get $c2))) (local.set $r21 (v128.load offset=16 (local.get $c2)))
        (local.set $r30 (v128.load (local.get $c3))) (local.set $r31 (v128.load offset=16 (local.get $c3)))))
    (loop $k
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $x (v128.load32_splat (local.get $pa)))
      (FMA $r00 $x $b0) (FMA $r01 $x $b1)
      (local.set $x (v128.load32_splat offset=4 (local.get $pa)))
      (FMA $r10 $x $b0) (FMA $r11 $x $b1)
      (local.set $x (v128.load32_splat offset=8 (local.get $pa)))
      (FMA $r20 $x $b0) (FMA $r21 $x $b1)
      (local.set $x (v128.load32_splat offset=12 (local.get $pa)))
      (FMA $r30 $x $b0) (FMA $r31 $x $b1)
      (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (local.set $kc (i32.sub (local.get $kc) (i32.const 1)))
      (br_if $k (local.get $kc)))
    (v128.store (local.get $c) (local.get $r00)) (v128.store offset=16 (local.get $c) (local.get $r01))
    (v128.store (local.get $c1) (local.get $r10)) (v128.store offset=16 (local.get $c1) (local.get $r11))
    (v128.store (local.get $c2) (local.get $r20)) (v128.store offset=16 (local.get $c2) (local.get $r21))
    (v128.store (local.get $c3) (local.get $r30)) (v128.store offset=16 (local.get $c3) (local.get $r31)))

  ;; A tile of which only rows x cols (up to 4 x 8) lie inside C: through a 4 x 8 tile at `tile`.
  (func $edge_tile
    (param $c i32) (param $ldc4 i32) (param $tile i32) (param $pa i32) (param $pb i32) (param $kc i32)
    (param $acc i32) (param $rows i32) (param $cols i32)
    (local $i i32) (local $j i32) (local $src i32) (local $dst i32)
    (if (i32.gt_s (local.get $rows) (i32.const 4)) (then (local.set $rows (i32.const 4))))
    (if (i32.gt_s (local.get $cols) (i32.const 8)) (then (local.set $cols (i32.const 8))))
    (if (local.get $acc)
      (then
        (local.set $i (i32.const 0))
        (block $in_done
          (loop $in
            (br_if $in_done (i32.ge_s (local.get $i) (local.get $rows)))
            (local.set $j (i32.const 0))
            (block $in_cols_done
              (loop $in_cols
                (br_if $in_cols_done (i32.ge_s (local.get $j) (local.get $cols)))
                (f32.store
                  (i32.add (local.get $tile) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 2)))
                  (f32.load (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc4)) (i32.shl (local.get $j) (i32.const 2))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $in_cols)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $in)))))
    (call $tile_4x8 (local.get $tile) (i32.const 32) (local.get $pa) (local.get $pb) (local.get $kc) (local.get $acc))
    (local.set $i (i32.const 0))
    (block $out_done
      (loop $out
        (br_if $out_done (i32.ge_s (local.get $i) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $out_cols_done
          (loop $out_cols
            (br_if $out_cols_done (i32.ge_s (local.get $j) (local.get $cols)))
            (f32.store
              (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc4)) (i32.shl (local.get $j) (i32.const 2))))
              (f32.load (i32.add (local.get $tile) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 2)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $out_cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $out))))

  ;; 4 x 4 floats: rows at src, src + ss, src + 2 ss, src + 3 ss (bytes) become columns: row q of
  ;; the transpose is stored at dst + q * ds.
  (func $transpose4 (param $src i32) (param $ss i32) (param $dst i32) (param $ds i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $r0 (v128.load (local.get $src)))
    (local.set $src (i32.add (local.get $src) (local.get $ss)))
    (local.set $r1 (v128.load (local.get $src)))
    (local.set $src (i32.add (local.get $src) (local.get $ss)))
    (local.set $r2 (v128.load (local.get $src)))
    (local.set $src (i32.add (local.get $src) (local.get $ss)))
    (local.set $r3 (v128.load (local.get $src)))
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
    (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
    (local.set $dst (i32.add (local.get $dst) (local.get $ds)))
    (v128.store (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
    (local.set $dst (i32.add (local.get $dst) (local.get $ds)))
    (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
    (local.set $dst (i32.add (local.get $dst) (local.get $ds)))
    (v128.store (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3))))

  ;; Packs kc x nc of B (B(k, j) at b + 4*(k*sbk + j*sbj)) into panels of 8 columns: panel p holds
  ;; B(k, 8p + q) at dst + 4*(8*(p*kc + k) + q); columns past nc are zeros.
  (func $pack_b (param $dst i32) (param $b i32) (param $sbk i32) (param $sbj i32) (param $kc i32) (param $nc i32)
    (local $j0 i32) (local $k i32) (local $q i32) (local $panel i32) (local $src i32) (local $sbk4 i32) (local $sbj4 i32)
    (local.set $sbk4 (i32.shl (local.get $sbk) (i32.const 2)))
    (local.set $sbj4 (i32.shl (local.get $sbj) (i32.const 2)))
    (block $done
      (loop $panels
        (br_if $done (i32.ge_s (local.get $j0) (local.get $nc)))
        (local.set $panel (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $j0) (local.get $kc)) (i32.const 2))))
        (local.set $src (i32.add (local.get $b) (i32.mul (local.get $j0) (local.get $sbj4))))
        (block $general
          (if (i32.le_s (i32.add (local.get $j0) (i32.const 8)) (local.get $nc))
            (then
              ;; Rows of B contiguous along j (A·B): two vectors a row.
              (if (i32.eq (local.get $sbj) (i32.const 1))
                (then
                  (local.set $k (i32.const 0))
                  (block $rows_done
                    (loop $rows
                      (br_if $rows_done (i32.ge_s (local.get $k) (local.get $kc)))
                      (v128.store (local.get $panel) (v128.load (local.get $src)))
                      (v128.store offset=16 (local.get $panel) (v128.load offset=16 (local.get $src)))
                      (local.set $panel (i32.add (local.get $panel) (i32.const 32)))
                      (local.set $src (i32.add (local.get $src) (local.get $sbk4)))
                      (local.set $k (i32.add (local.get $k) (i32.const 1)))
                      (br $rows)))
                  (br $general)))
              ;; Columns of B contiguous along k (A·B^T): 4 x 4 transposes, then any k % 4 one by one.
              (if (i32.eq (local.get $sbk) (i32.const 1))
                (then
                  (local.set $k (i32.const 0))
                  (block $quads_done
                    (loop $quads
                      (br_if $quads_done (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $kc)))
                      (call $transpose4 (local.get $src) (local.get $sbj4) (local.get $panel) (i32.const 32))
                      (call $transpose4 (i32.add (local.get $src) (i32.shl (local.get $sbj4) (i32.const 2))) (local.get $sbj4)
                        (i32.add (local.get $panel) (i32.const 16)) (i32.const 32))
                      (local.set $panel (i32.add (local.get $panel) (i32.const 128)))
                      (local.set $src (i32.add (local.get $src) (i32.const 16)))
                      (local.set $k (i32.add (local.get $k) (i32.const 4)))
                      (br $quads)))
                  (block $left_done
                    (loop $left
                      (br_if $left_done (i32.ge_s (local.get $k) (local.get $kc)))
                      (local.set $q (i32.const 0))
                      (block $q_done
                        (loop $ql
                          (br_if $q_done (i32.ge_s (local.get $q) (i32.const 8)))
                          (f32.store (i32.add (local.get $panel) (i32.shl (local.get $q) (i32.const 2)))
                            (f32.load (i32.add (local.get $src) (i32.mul (local.get $q) (local.get $sbj4)))))
                          (local.set $q (i32.add (local.get $q) (i32.const 1)))
                          (br $ql)))
                      (local.set $panel (i32.add (local.get $panel) (i32.const 32)))
                      (local.set $src (i32.add (local.get $src) (i32.const 4)))
                      (local.set $k (i32.add (local.get $k) (i32.const 1)))
                      (br $left)))
                  (br $general)))))
          ;; Any layout, or the last panel: element by element, zeros past nc.
          (local.set $k (i32.const 0))
          (block $k_done
            (loop $kl
              (br_if $k_done (i32.ge_s (local.get $k) (local.get $kc)))
              (local.set $q (i32.const 0))
              (block $q_done
                (loop $ql
                  (br_if $q_done (i32.ge_s (local.get $q) (i32.const 8)))
                  (f32.store (i32.add (local.get $panel) (i32.shl (local.get $q) (i32.const 2)))
                    (if (result f32) (i32.lt_s (i32.add (local.get $j0) (local.get $q)) (local.get $nc))
                      (then (f32.load (i32.add (i32.add (local.get $src) (i32.mul (local.get $k) (local.get $sbk4))) (i32.mul (local.get $q) (local.get $sbj4)))))
                      (else (f32.const 0))))
                  (local.set $q (i32.add (local.get $q) (i32.const 1)))
                  (br $ql)))
              (local.set $panel (i32.add (local.get $panel) (i32.const 32)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $kl))))
        (local.set $j0 (i32.add (local.get $j0) (i32.const 8)))
        (br $panels))))

  ;; Packs mc x kc of A (A(i, k) at a + 4*(i*sai + k*sak)) into panels of 4 rows: panel p holds
  ;; A(4p + q, k) at dst + 4*(4*(p*kc + k) + q); rows past mc are zeros.
  (func $pack_a (param $dst i32) (param $a i32) (param $sai i32) (param $sak i32) (param $mc i32) (param $kc i32)
    (local $i0 i32) (local $k i32) (local $q i32) (local $panel i32) (local $src i32) (local $sai4 i32) (local $sak4 i32)
    (local.set $sai4 (i32.shl (local.get $sai) (i32.const 2)))
    (local.set $sak4 (i32.shl (local.get $sak) (i32.const 2)))
    (block $done
      (loop $panels
        (br_if $done (i32.ge_s (local.get $i0) (local.get $mc)))
        (local.set $panel (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $i0) (local.get $kc)) (i32.const 2))))
        (local.set $src (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $sai4))))
        (block $general
          (if (i32.le_s (i32.add (local.get $i0) (i32.const 4)) (local.get $mc))
            (then
              ;; A stored transposed (A^T·B): the 4 rows' values of one k are contiguous.
              (if (i32.eq (local.get $sai) (i32.const 1))
                (then
                  (local.set $k (i32.const 0))
                  (block $cols_done
                    (loop $cols
                      (br_if $cols_done (i32.ge_s (local.get $k) (local.get $kc)))
                      (v128.store (local.get $panel) (v128.load (local.get $src)))
                      (local.set $panel (i32.add (local.get $panel) (i32.const 16)))
                      (local.set $src (i32.add (local.get $src) (local.get $sak4)))
                      (local.set $k (i32.add (local.get $k) (i32.const 1)))
                      (br $cols)))
                  (br $general)))
              ;; Rows of A contiguous along k: 4 x 4 transposes, then any k % 4 one by one.
              (if (i32.eq (local.get $sak) (i32.const 1))
                (then
                  (local.set $k (i32.const 0))
                  (block $quads_done
                    (loop $quads
                      (br_if $quads_done (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $kc)))
                      (call $transpose4 (local.get $src) (local.get $sai4) (local.get $panel) (i32.const 16))
                      (local.set $panel (i32.add (local.get $panel) (i32.const 64)))
                      (local.set $src (i32.add (local.get $src) (i32.const 16)))
                      (local.set $k (i32.add (local.get $k) (i32.const 4)))
                      (br $quads)))
                  (block $left_done
                    (loop $left
                      (br_if $left_done (i32.ge_s (local.get $k) (local.get $kc)))
                      (local.set $q (i32.const 0))
                      (block $q_done
                        (loop $ql
                          (br_if $q_done (i32.ge_s (local.get $q) (i32.const 4)))
                          (f32.store (i32.add (local.get $panel) (i32.shl (local.get $q) (i32.const 2)))
                            (f32.load (i32.add (local.get $src) (i32.mul (local.get $q) (local.get $sai4)))))
                          (local.set $q (i32.add (local.get $q) (i32.const 1)))
                          (br $ql)))
                      (local.set $panel (i32.add (local.get $panel) (i32.const 16)))
                      (local.set $src (i32.add (local.get $src) (i32.const 4)))
                      (local.set $k (i32.add (local.get $k) (i32.const 1)))
                      (br $left)))
                  (br $general)))))
          ;; Any layout, or the last panel: element by element, zeros past mc.
          (local.set $k (i32.const 0))
          (block $k_done
            (loop $kl
              (br_if $k_done (i32.ge_s (local.get $k) (local.get $kc)))
              (local.set $q (i32.const 0))
              (block $q_done
                (loop $ql
                  (br_if $q_done (i32.ge_s (local.get $q) (i32.const 4)))
                  (f32.store (i32.add (local.get $panel) (i32.shl (local.get $q) (i32.const 2)))
                    (if (result f32) (i32.lt_s (i32.add (local.get $i0) (local.get $q)) (local.get $mc))
                      (then (f32.load (i32.add (i32.add (local.get $src) (i32.mul (local.get $k) (local.get $sak4))) (i32.mul (local.get $q) (local.get $sai4)))))
                      (else (f32.const 0))))
                  (local.set $q (i32.add (local.get $q) (i32.const 1)))
                  (br $ql)))
              (local.set $panel (i32.add (local.get $panel) (i32.const 16)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $kl))))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 4)))
        (br $panels))))
)
