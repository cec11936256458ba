-- $1: questions; $2: now. A year of questions before $2 over 40 OPDs (the 22 of the
-- shipped directory and 18 kecamatan offices, skewed: the busiest gets ~8x the quietest),
-- the 24 kecamatan of Kabupaten Pasuruan, 23 categories, 30% taken on site. An answer
-- comes after an assignment by a skewed delay (median ~2 days, up to 16); what would be
-- answered after $2 is still open, and 2% never got an answer (overdue, escalated).
INSERT INTO question_facts (
    question_id, ticket, kind, category, channel, kecamatan, desa, session_id, confidential, text,
    submitted_at, status, opd_code, routed_at, assigned_at, due_at, answered_at, answered_within_due,
    escalation_level, on_the_spot_due_at, answered_on_the_spot, rating, reopened, answer_working_seconds)
WITH base AS (
    SELECT i,
           $2::timestamptz - random() * interval '365 days' AS submitted_at,
           (ARRAY['DISPENDUKCAPIL','BAPENDA','DPUPR','DINKES','DISDIK','DINSOS','DISNAKER','DPMPTSP',
                  'DLH','DISHUB','DISKOPUM','DISPERINDAG','DKPP','DPKP','DPMD','DISPARBUD','DP3AP2KB',
                  'BPBD','SATPOLPP','DISKOMINFO','BAPPEDA','PERUMDA_AIR','KEC_BANGIL','KEC_BEJI',
                  'KEC_GEMPOL','KEC_GONDANGWETAN','KEC_GRATI','KEC_KEJAYAN','KEC_KRATON','KEC_LEKOK',
                  'KEC_LUMBANG','KEC_NGULING','KEC_PANDAAN','KEC_PASREPAN','KEC_POHJENTREK',
                  'KEC_PRIGEN','KEC_PURWODADI','KEC_PURWOSARI','KEC_PUSPO','KEC_REJOSO'])
               [1 + floor(40 * power(random(), 1.5))::int] AS opd,
           (ARRAY['Bangil','Beji','Gempol','Gondang Wetan','Grati','Kejayan','Kraton','Lekok','Lumbang',
                  'Nguling','Pandaan','Pasrepan','Pohjentrek','Prigen','Purwodadi','Purwosari','Puspo',
                  'Rejoso','Rembang','Sukorejo','Tosari','Tutur','Winongan','Wonorejo'])
               [1 + floor(24 * random())::int] AS kecamatan,
           (ARRAY['kependudukan','pajak_daerah','jalan_jembatan','kesehatan','pendidikan','bantuan_sosial',
                  'ketenagakerjaan','perizinan','lingkungan_sampah','transportasi','umkm','perdagangan_pasar',
                  'pertanian','perumahan','pemerintahan_desa','pariwisata_budaya','perempuan_anak','bencana',
                  'ketertiban_umum','informasi_publik','air_bersih','usulan_pembangunan','lainnya'])
               [1 + floor(23 * random())::int] AS category,
           (ARRAY['QUESTION','QUESTION','COMPLAINT','COMPLAINT','ASPIRATION','SERVICE_REQUEST'])
               [1 + floor(6 * random())::int] AS kind,
           random() < 0.3 AS on_site,
           random() < 0.05 AS confidential,
           random() AS r_fate,
           random() AS r_delay,
           random() AS r_rating,
           random() * interval '10 minutes' AS routing_delay,
           random() < 0.05 AS reassigned
    FROM generate_series(1, $1::int) AS g(i)
), timed AS (
    SELECT b.*,
           b.submitted_at + b.routing_delay AS routed_at,
           b.submitted_at + b.routing_delay
               + CASE WHEN b.reassigned THEN interval '1 day' ELSE interval '0' END AS assigned_at
    FROM base b
), fated AS (
    SELECT t.*,
           t.assigned_at + interval '7 days' AS due_at,
           CASE WHEN t.r_fate < 0.01 OR t.r_fate >= 0.97 THEN NULL
                ELSE t.assigned_at + power(t.r_delay, 3) * interval '16 days' END AS answer_at
    FROM timed t
), settled AS (
    SELECT f.*,
           CASE WHEN f.answer_at <= $2 THEN f.answer_at END AS answered_at
    FROM fated f
)
SELECT gen_random_uuid(),
       'KM-' || lpad(i::text, 8, '0'),
       kind, category,
       CASE WHEN on_site THEN 'ON_SITE' ELSE (ARRAY['WEB','WHATSAPP','SMS','PHONE'])[1 + i % 4] END,
       kecamatan,
       'Desa ' || (1 + i % 15),
       CASE WHEN on_site THEN 'S-' || replace(kecamatan, ' ', '') || '-' || to_char(submitted_at, 'YYYYMM') ELSE '' END,
       confidential,
       CASE WHEN confidential THEN NULL
            ELSE 'Pertanyaan warga nomor ' || i || ' tentang ' || category || ': mohon penjelasan dan tindak lanjut dari dinas terkait.' END,
       submitted_at,
       CASE WHEN r_fate < 0.01 THEN 'TRIAGE'
            WHEN r_fate >= 0.99 THEN 'WITHDRAWN'
            WHEN answered_at IS NULL THEN (ARRAY['ROUTED','ACKNOWLEDGED'])[1 + i % 2]
            ELSE (ARRAY['ANSWERED','ANSWERED','ANSWERED','RESOLVED','RESOLVED','FOLLOW_UP'])[1 + i % 6] END,
       CASE WHEN r_fate < 0.01 THEN NULL ELSE opd END,
       CASE WHEN r_fate < 0.01 THEN NULL ELSE routed_at END,
       CASE WHEN r_fate < 0.01 THEN NULL ELSE assigned_at END,
       CASE WHEN r_fate < 0.01 THEN NULL ELSE due_at END,
       answered_at,
       CASE WHEN answered_at IS NOT NULL THEN answered_at <= due_at END,
       CASE WHEN coalesce(answered_at, $2) > due_at + interval '7 days' AND r_fate >= 0.01 THEN 2
            WHEN coalesce(answered_at, $2) > due_at AND r_fate >= 0.01 THEN 1 ELSE 0 END,
       NULL,
       on_site AND answered_at IS NOT NULL AND answered_at < submitted_at + interval '6 hours',
       CASE WHEN answered_at IS NOT NULL AND r_rating < 0.4 THEN 1 + floor(r_rating * 12.5)::int END,
       CASE WHEN answered_at IS NOT NULL AND r_rating < 0.012 THEN 1 ELSE 0 END,
       -- Working time approximated (8 of 24 hours, 5 of 7 days): this data measures the
       -- queries, not the projection's arithmetic.
       CASE WHEN answered_at IS NOT NULL
            THEN floor(extract(epoch FROM answered_at - assigned_at) * 8 / 24 * 5 / 7)::bigint END
FROM settled
